import { describe, expect, it } from 'vitest';
import { RinglbError } from '../core/errors.js';
import { parseWeightBody, parseAddBody, parseBodyText, parseRemoveBody } from './validation.js';

function failure(fn: () => unknown): { code: string; message: string; status: number } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RinglbError);
    const { code, message, status } = error as RinglbError;
    return { code, message, status };
  }
  throw new Error('expected a failure');
}

describe('control body validation', () => {
  it('defaults to one replica with no names', () => {
    expect(parseAddBody(parseBodyText(''))).toEqual({ n: 1, hostnames: [] });
    expect(parseRemoveBody(parseBodyText('  \n'))).toEqual({ n: 1, hostnames: [] });
    expect(parseAddBody({})).toEqual({ n: 1, hostnames: [] });
  });

  it('takes n and hostnames, and n from the names when n is absent', () => {
    expect(parseAddBody({ n: 2, hostnames: ['S5', 'S6'] })).toEqual({ n: 2, hostnames: ['S5', 'S6'] });
    expect(parseAddBody({ n: 3, hostnames: ['S5'] })).toEqual({ n: 3, hostnames: ['S5'] });
    expect(parseAddBody({ hostnames: ['a', 'b'] })).toEqual({ n: 2, hostnames: ['a', 'b'] });
    expect(parseRemoveBody({ n: 1, hostnames: ['Server 1'] })).toEqual({ n: 1, hostnames: ['Server 1'] });
  });

  it("keeps the seed's messages for more names than instances", () => {
    expect(failure(() => parseAddBody({ n: 1, hostnames: ['a', 'b'] }))).toEqual({
      code: 'ERR_HOSTNAMES_EXCEED_N',
      status: 400,
      message: '<Error> Length of hostname list is more than newly added instances',
    });
    expect(failure(() => parseRemoveBody({ n: 1, hostnames: ['a', 'b'] })).message).toBe(
      '<Error> Length of hostname list is more than removable instances',
    );
  });

  it('refuses bad JSON, bad n, bad names, unknown fields and duplicates with a message that says so', () => {
    expect(failure(() => parseBodyText('{"n":')).message).toBe('<Error> the body is not valid JSON');
    for (const n of [0, -1, 1.5, '2', null, true]) {
      expect(failure(() => parseAddBody({ n })).message).toBe("<Error> 'n' must be a positive integer");
    }
    expect(failure(() => parseAddBody({ n: 1001 })).message).toBe("<Error> 'n' must be at most 1000");
    expect(failure(() => parseAddBody([1])).message).toBe('<Error> the body must be a JSON object');
    expect(failure(() => parseAddBody('x')).message).toBe('<Error> the body must be a JSON object');
    expect(failure(() => parseAddBody(null)).message).toBe('<Error> the body must be a JSON object');
    expect(failure(() => parseAddBody({ hostnames: 'S1' })).message).toBe(
      "<Error> 'hostnames' must be a list of strings",
    );
    expect(failure(() => parseAddBody({ hostnames: [5] })).message).toBe(
      "<Error> 'hostnames' must be a list of strings",
    );
    for (const bad of ['', 'has space', '../etc', '-lead', 'a'.repeat(64), 'x;rm -rf /', 'ü']) {
      expect(failure(() => parseAddBody({ hostnames: [bad] })).message).toMatch(/is not a safe name/);
    }
    expect(failure(() => parseAddBody({ n: 1, extra: 1 })).message).toBe(
      "<Error> unknown field 'extra': expected 'n', 'hostnames', 'weights' and 'backends'",
    );
    expect(failure(() => parseRemoveBody({ backends: [] })).message).toBe(
      "<Error> unknown field 'backends': expected 'n' and 'hostnames'",
    );
    expect(failure(() => parseRemoveBody({ weights: {} })).message).toBe(
      "<Error> unknown field 'weights': expected 'n' and 'hostnames'",
    );
    expect(failure(() => parseAddBody({ hostnames: ['a', 'a'] }))).toMatchObject({
      code: 'ERR_DUPLICATE_HOSTNAME',
      message: "<Error> hostname 'a' is listed twice",
    });
    expect(failure(() => parseRemoveBody({ hostnames: [''] })).message).toBe(
      '<Error> a hostname cannot be empty',
    );
  });

  it('takes weights of named replicas only, each greater than 0 and at most 100', () => {
    expect(parseAddBody({ hostnames: ['S5', 'S6'], weights: { S5: 2, S6: 0.5 } })).toEqual({
      n: 2,
      hostnames: ['S5', 'S6'],
      weights: { S5: 2, S6: 0.5 },
    });
    expect(failure(() => parseAddBody({ hostnames: ['S5'], weights: { S6: 2 } })).message).toBe(
      "<Error> 'weights' names 'S6', which is not in 'hostnames': only named replicas take a weight",
    );
    for (const bad of [0, -1, 101, '2', null]) {
      expect(failure(() => parseAddBody({ hostnames: ['S5'], weights: { S5: bad } })).message).toBe(
        "<Error> weight of 'S5': a weight is a number greater than 0 and at most 100",
      );
    }
    expect(failure(() => parseAddBody({ hostnames: ['S5'], weights: [2] })).message).toBe(
      "<Error> 'weights' must map hostnames to weights",
    );
    expect(parseWeightBody({ weight: 2.5 })).toBe(2.5);
    expect(failure(() => parseWeightBody({})).message).toBe(
      "<Error> the body needs 'weight': a weight is a number greater than 0 and at most 100",
    );
    expect(failure(() => parseWeightBody({ weight: 0 })).message).toMatch(/greater than 0/);
    expect(failure(() => parseWeightBody({ weight: 1, n: 2 })).message).toBe(
      "<Error> unknown field 'n': expected 'weight'",
    );
    expect(failure(() => parseWeightBody([])).message).toBe('<Error> the body must be a JSON object');
  });

  it('takes static backends as origins, one replica each, and refuses anything else', () => {
    expect(parseAddBody({ backends: ['http://10.0.0.7:8080/'], hostnames: ['api-7'] })).toEqual({
      n: 1,
      hostnames: ['api-7'],
      backends: ['http://10.0.0.7:8080'],
    });
    expect(parseAddBody({ backends: ['http://a:1', 'http://b:2'] }).n).toBe(2);
    for (const bad of ['ftp://a:1', 'http://a:1/path', 'not a url', 'h2c://a:1', 7]) {
      expect(failure(() => parseAddBody({ backends: [bad] })).message).toMatch(/backend|'backends'/);
    }
    expect(failure(() => parseAddBody({ backends: [] })).message).toMatch(/'backends' is empty/);
    expect(failure(() => parseAddBody({ n: 2, backends: ['http://a:1'] })).message).toMatch(
      /one replica per backend/,
    );
  });
});
