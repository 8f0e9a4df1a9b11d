'use client';

export interface LabelPickerProps {
  readonly name: string;
  readonly value: number | undefined;
  readonly onChange: (label: number) => void;
}

/** Ten buttons, one per digit: quicker than a drop-down on a phone. */
export function LabelPicker({ name, value, onChange }: LabelPickerProps) {
  return (
    <fieldset className="label-picker">
      <legend>Which digit is it?</legend>
      {Array.from({ length: 10 }, (_, d) => (
        <label key={d} className={value === d ? 'selected' : ''}>
          <input type="radio" name={name} value={d} checked={value === d} onChange={() => onChange(d)} />
          {d}
        </label>
      ))}
    </fieldset>
  );
}
