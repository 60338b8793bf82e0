import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

/**
 * Universal part-of-speech tags (NOUN, VERB, ADP…) of a short text's words, from wink-nlp's English model: a
 * maintained tagger in pure JavaScript (its lite model is 4 MB and tags a question in well under a millisecond once
 * loaded), already in the dependency tree through the BibTeX parser. Key concepts are nouns and what qualifies
 * them: "inside", "avoid" and "let" are rare in a library of abstracts but are never what a question is about.
 */

let tagger: ReturnType<typeof winkNLP> | undefined;

/** Each word (a run of letters and digits, in order) with its tag; `X` when the tagger saw it otherwise. */
export function tagWords(text: string): Array<{ word: string; tag: string }> {
  // Loaded on first use (about 0.2 s): a process that never grades a question never pays for it.
  tagger ??= winkNLP(model);
  const document = tagger.readDoc(text);
  const tokens = document.tokens().out();
  const tags = document.tokens().out(tagger.its.pos);
  return tokens.flatMap((token, index) =>
    (token.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map((word) => ({ word, tag: tags[index] ?? 'X' })),
  );
}
