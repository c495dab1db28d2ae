/** What `ringlb replica` is asked to be: the seed's replica, or a cache in front of an origin. */
export interface ReplicaMode {
  /** `--cache --origin URL`: the cache mode's origin; undefined for the seed's replica. */
  readonly cacheOrigin?: string;
  /** `--cache-size N`: entries a cache keeps. */
  readonly cacheSize: number;
}

export const DEFAULT_CACHE_SIZE = 100_000;

/**
 * Parses `ringlb replica`'s options: none (the seed's replica), or `--cache --origin URL` with an
 * optional `--cache-size N`. A bad option throws an Error that says what is wrong.
 */
export function parseReplicaArgs(args: readonly string[]): ReplicaMode {
  let cache = false;
  let origin: string | undefined;
  let size = DEFAULT_CACHE_SIZE;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => {
      const given = inline ?? args[++i];
      if (given === undefined || given === '') throw new Error(`${flag} needs a value`);
      return given;
    };
    if (flag === '--cache' && inline === undefined) cache = true;
    else if (flag === '--origin') origin = originOf(value());
    else if (flag === '--cache-size') {
      const text = value();
      size = Number(text);
      if (!/^\d+$/.test(text) || size < 1 || size > 100_000_000)
        throw new Error(
          `--cache-size must be a whole number from 1 to 100000000, not ${JSON.stringify(text)}`,
        );
    } else throw new Error(`unknown option ${JSON.stringify(args[i])}`);
  }
  if (!cache && (origin !== undefined || size !== DEFAULT_CACHE_SIZE))
    throw new Error('--origin and --cache-size are for the cache mode: add --cache');
  if (cache && origin === undefined) throw new Error('--cache needs --origin http://host:port');
  return cache ? { cacheOrigin: origin, cacheSize: size } : { cacheSize: size };
}

function originOf(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    url.protocol !== 'http:' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search
  )
    throw new Error(`--origin must be an http://host:port URL, not ${JSON.stringify(text)}`);
  return url.origin;
}
