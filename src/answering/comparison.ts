import { z } from 'zod';

/**
 * The shape of a comparison. The model fills `modelComparisonSchema` (validated by `withStructuredOutput`); the
 * service ties each entry back to its paper by id and adds what the library knows (title, url).
 */

/** Sent to the model as JSON Schema: OpenAI's strict structured outputs reject value-changing checks such as trim. */
const statement = z.string().min(1);
/** What users get: blank statements are as bad as missing ones. */
const checkedStatement = z.string().trim().min(1);

export const paperFacetsSchema = z.object({
  id: z.string().min(1).describe('The paper id exactly as given'),
  problem: statement.describe('The problem the paper addresses'),
  method: statement.describe('What the paper proposes or does'),
  data: statement.describe('The data, benchmarks or setting it is evaluated on'),
  results: statement.describe('Its key results'),
  limitations: statement.describe('Its limitations, or "Not stated in the abstract."'),
});

export const modelComparisonSchema = z.object({
  papers: z.array(paperFacetsSchema).min(2).max(4).describe('One entry per paper, in the order given'),
  similarities: z.array(statement).min(1).describe('What the papers have in common, citing papers as [n]'),
  differences: z.array(statement).min(1).describe('How the papers differ, citing papers as [n]'),
  whenToUse: statement.describe('One line on when to use which paper'),
});

export const comparisonSchema = z.object({
  papers: z
    .array(
      z.object({
        id: z.string().min(1),
        title: z.string().min(1),
        url: z.string().optional(),
        problem: checkedStatement,
        method: checkedStatement,
        data: checkedStatement,
        results: checkedStatement,
        limitations: checkedStatement,
      }),
    )
    .min(2)
    .max(4),
  similarities: z.array(checkedStatement).min(1),
  differences: z.array(checkedStatement).min(1),
  whenToUse: checkedStatement,
  /** `extractive` or `<provider>/<model>`. */
  model: z.string().min(1),
  /** Set when the model failed and the comparison fell back to extractive. */
  notice: z.string().optional(),
});

export type ModelComparison = z.infer<typeof modelComparisonSchema>;
export type Comparison = z.infer<typeof comparisonSchema>;
export type PaperComparison = Comparison['papers'][number];
