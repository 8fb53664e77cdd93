import fc from 'fast-check';

/** Text a user might type where a number is expected (the CLI fuzz tests). */
export const numberish = fc.oneof(
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
  fc.double().map(String),
  fc.constantFrom('NaN', 'Infinity', '-0', '1e309', '0x10', '', ' ', '7abc', '４２'),
);

/** `--name=value` or `--name value`: users type both, and a value may start with a dash. */
export const optionForm = fc.boolean();
/** Appends `--name value` or `--name=value`. */
export const withOption = (args: string[], name: string, value: string | undefined, joined: boolean) => {
  if (value !== undefined) args.push(...(joined ? [`--${name}=${value}`] : [`--${name}`, value]));
};

