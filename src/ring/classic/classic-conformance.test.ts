import { ringConformance } from '../conformance.suite.js';
import { ClassicRing } from './classic-ring.js';

ringConformance('classic', {
  build: (list) => new ClassicRing(list),
  balance: { skip: "the seed's quadratic ring is unbalanced by design; the analysis (A-1, A-2) measures it" },
  movement: { skip: "linear probing can shift other replicas' virtual nodes when one leaves" },
  weights: { skip: 'the seed ring has no weights' },
  shares: { skip: 'shares count slots, and H(i) = i² + 2i + 17 does not reach every slot alike' },
});
