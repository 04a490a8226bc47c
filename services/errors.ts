// Business errors, named by what went wrong; api/errors.ts maps each kind to HTTP once.
export type ServiceErrorKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'gone';

export class ServiceError extends Error {
  override name = 'ServiceError';
  readonly kind: ServiceErrorKind;
  readonly code: string;
  readonly param: string | undefined;
  constructor(kind: ServiceErrorKind, code: string, message: string, param?: string) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.param = param;
  }
}

export const invalid = (code: string, message: string, param?: string) =>
  new ServiceError('invalid', code, message, param);
export const notFound = (code: string, message: string, param?: string) =>
  new ServiceError('not_found', code, message, param);
export const conflict = (code: string, message: string, param?: string) =>
  new ServiceError('conflict', code, message, param);
export const forbidden = (code: string, message: string, param?: string) =>
  new ServiceError('forbidden', code, message, param);
export const gone = (code: string, message: string, param?: string) => new ServiceError('gone', code, message, param);
