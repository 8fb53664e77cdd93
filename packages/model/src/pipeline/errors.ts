/** A bad request to the model: `field` names the input at fault (servers turn it into a 4xx). */
export class AuroraInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'AuroraInputError';
  }
}
