/** What the create-task form asks about client selection (docs/STRATEGIES.md, "Client selection"). */
export interface SelectionForm {
  readonly policy: 'uniform' | 'oort';
  /** Oort's fairness: 0 = pure utility, 1 = whoever was invited least. */
  readonly fairness: number;
  /** Oort's diversity: weight of label coverage against a participant's own utility. */
  readonly diversity: number;
}

export const DEFAULT_SELECTION_FORM: SelectionForm = { policy: 'uniform', fairness: 0, diversity: 0 };

export const SELECTION_POLICIES: readonly { readonly id: SelectionForm['policy']; readonly label: string }[] = [
  { id: 'uniform', label: 'Uniform random (FedAvg)' },
  { id: 'oort', label: 'Oort: by what a participant can teach, how fast and how reliably' },
];

/**
 * The task's `selection` from the form: nothing for uniform (the server's default), Oort with only
 * the options moved off their defaults (the server validates them and says which one is wrong).
 */
export function selectionFromForm(form: SelectionForm): { selection?: { id: string; options: Record<string, number> } } {
  if (form.policy === 'uniform') return {};
  const options: Record<string, number> = {};
  if (form.fairness !== 0) options.fairness = form.fairness;
  if (form.diversity !== 0) options.diversity = form.diversity;
  return { selection: { id: 'oort', options } };
}
