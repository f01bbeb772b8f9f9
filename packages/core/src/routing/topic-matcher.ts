/**
 * Topic matching exactly as RabbitMQ does it: words are split on '.', an empty key has no
 * words, empty words count ('a..b' has three), '*' matches exactly one word (empty or not)
 * and '#' matches zero or more words.
 */
export function splitWords(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

export type TopicMatcher = (routingKey: string) => boolean;

const cache = new Map<string, TopicMatcher>();

/** Returns a (cached) predicate for a binding pattern. */
export function topicMatcher(pattern: string): TopicMatcher {
  let matcher = cache.get(pattern);
  if (matcher === undefined) {
    matcher = compile(pattern);
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern, matcher);
  }
  return matcher;
}

export function topicMatches(pattern: string, routingKey: string): boolean {
  return topicMatcher(pattern)(routingKey);
}

function compile(pattern: string): TopicMatcher {
  const p = splitWords(pattern);
  if (!p.includes('*') && !p.includes('#')) return (key) => key === pattern;
  if (p.every((w) => w === '#')) return () => true;
  return (key) => matchWords(p, splitWords(key));
}

function matchWords(p: readonly string[], k: readonly string[]): boolean {
  // reachable[j]: the pattern prefix read so far can consume exactly the first j key words
  let reachable: boolean[] = new Array<boolean>(k.length + 1).fill(false);
  reachable[0] = true;
  for (const word of p) {
    const next: boolean[] = new Array<boolean>(k.length + 1).fill(false);
    if (word === '#') {
      let any = false;
      for (let j = 0; j <= k.length; j++) {
        any = any || reachable[j]!;
        next[j] = any;
      }
    } else {
      for (let j = 0; j < k.length; j++) {
        if (reachable[j] && (word === '*' || word === k[j])) next[j + 1] = true;
      }
    }
    reachable = next;
  }
  return reachable[k.length]!;
}
