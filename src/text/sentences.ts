const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/** Sentences of an abstract; fragments too short to stand alone ("e.g." splits) join the sentence before them. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const { segment } of sentenceSegmenter.segment(text.replace(/\s+/g, ' ').trim())) {
    const sentence = segment.trim();
    if (!sentence) continue;
    if (sentences.length > 0 && (sentence.length < 25 || /^[a-z(,;]/.test(sentence))) {
      sentences[sentences.length - 1] += ` ${sentence}`;
    } else sentences.push(sentence);
  }
  return sentences;
}
