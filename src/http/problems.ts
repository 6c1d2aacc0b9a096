/** The one error catalogue: each client-visible error's stable code and status. */
export const problems = {
  invalidRequest: { code: 'STRATA_REQUEST_INVALID', status: 400, title: 'The request is invalid' },
  malformedBody: { code: 'STRATA_REQUEST_MALFORMED', status: 400, title: 'The request body could not be parsed' },
  unauthenticated: { code: 'STRATA_AUTH_UNAUTHENTICATED', status: 401, title: 'Authentication is required' },
  invalidCredentials: { code: 'STRATA_AUTH_INVALID_CREDENTIALS', status: 401, title: 'Email or password is wrong' },
  currentPasswordWrong: { code: 'STRATA_AUTH_CURRENT_PASSWORD_WRONG', status: 403, title: 'The current password is wrong' },
  refreshRejected: { code: 'STRATA_AUTH_REFRESH_REJECTED', status: 401, title: 'The refresh token is not valid' },
  tenantChoice: { code: 'STRATA_AUTH_TENANT_CHOICE', status: 409, title: 'This account exists in several tenants: name one' },
  emailTaken: { code: 'STRATA_USER_EMAIL_TAKEN', status: 409, title: 'A user with this email already exists' },
  lastOwner: { code: 'STRATA_USER_LAST_OWNER', status: 409, title: 'A tenant must keep at least one active owner' },
  forbidden: { code: 'STRATA_AUTH_FORBIDDEN', status: 403, title: 'Your role does not allow this' },
  tenantMismatch: { code: 'STRATA_TENANT_MISMATCH', status: 403, title: 'The request names another tenant than the token' },
  tenantUnavailable: { code: 'STRATA_TENANT_UNAVAILABLE', status: 403, title: 'The tenant is not available' },
  featureDisabled: { code: 'STRATA_FEATURE_DISABLED', status: 403, title: 'This feature is not enabled for the tenant' },
  quotaExceeded: { code: 'STRATA_QUOTA_EXCEEDED', status: 403, title: 'The tenant has reached a limit of its plan' },
  tenantExists: { code: 'STRATA_TENANT_EXISTS', status: 409, title: 'A tenant with this slug already exists' },
  tenantState: { code: 'STRATA_TENANT_STATE', status: 409, title: 'The tenant is not in a state that allows this' },
  tenantNotEmpty: { code: 'STRATA_TRANSFER_TENANT_NOT_EMPTY', status: 409, title: 'Import needs a tenant without data' },
  archiveVersion: { code: 'STRATA_TRANSFER_VERSION_MISMATCH', status: 409, title: 'The archive is at another migration version than the tenant' },
  archiveInvalid: { code: 'STRATA_TRANSFER_ARCHIVE_INVALID', status: 422, title: 'The body is not a valid Strata tenant archive' },
  archiveMismatch: { code: 'STRATA_TRANSFER_ARCHIVE_MISMATCH', status: 422, title: 'The archive does not match its own manifest' },
  serverExists: { code: 'STRATA_SERVER_EXISTS', status: 409, title: 'This database server is already registered' },
  serverUnreachable: { code: 'STRATA_SERVER_UNREACHABLE', status: 422, title: 'The database server cannot be reached with these settings' },
  serverCordoned: { code: 'STRATA_SERVER_CORDONED', status: 409, title: 'The database server takes no new tenants' },
  serverFull: { code: 'STRATA_SERVER_FULL', status: 409, title: 'The database server is at its capacity for this kind of tenant' },
  serverNotEmpty: { code: 'STRATA_SERVER_NOT_EMPTY', status: 409, title: 'The database server still holds tenants or unfinished moves' },
  noServerAvailable: { code: 'STRATA_SERVER_NONE_AVAILABLE', status: 409, title: 'No database server takes new tenants' },
  notFound: { code: 'STRATA_RESOURCE_NOT_FOUND', status: 404, title: 'The resource does not exist' },
  routeNotFound: { code: 'STRATA_ROUTE_NOT_FOUND', status: 404, title: 'No such route' },
  inUse: { code: 'STRATA_RESOURCE_IN_USE', status: 409, title: 'The resource is still referenced by others' },
  versionConflict: { code: 'STRATA_RESOURCE_VERSION_CONFLICT', status: 409, title: 'The resource was changed by someone else' },
  payloadTooLarge: { code: 'STRATA_REQUEST_TOO_LARGE', status: 413, title: 'The request body is too large' },
  unsupportedMediaType: { code: 'STRATA_REQUEST_MEDIA_TYPE', status: 415, title: 'The request body must be JSON' },
  preconditionRequired: { code: 'STRATA_REQUEST_PRECONDITION_INVALID', status: 428, title: 'If-Match must name a version' },
  tenantSuspended: { code: 'STRATA_TENANT_SUSPENDED', status: 423, title: 'The tenant is suspended' },
  rateLimited: { code: 'STRATA_RATE_LIMITED', status: 429, title: 'Too many requests' },
  loginThrottled: { code: 'STRATA_AUTH_THROTTLED', status: 429, title: 'Too many failed logins' },
  unavailable: { code: 'STRATA_SERVICE_UNAVAILABLE', status: 503, title: 'The service is temporarily unavailable' },
  tenantDbTime: { code: 'STRATA_TENANT_DATABASE_TIME', status: 429, title: 'The tenant used its share of database time; it has more shortly' },
  tenantBusy: { code: 'STRATA_TENANT_BUSY', status: 503, title: 'The tenant runs as many database statements at once as its plan allows' },
  statementTimeout: { code: 'STRATA_TENANT_STATEMENT_TIMEOUT', status: 503, title: 'A database statement ran longer than the tenant’s plan allows' },
  tenantMoving: { code: 'STRATA_TENANT_MOVING', status: 503, title: 'The tenant is switching to another tier; writes are paused briefly' },
  rebalanceRunning: { code: 'STRATA_REBALANCE_RUNNING', status: 409, title: 'A rebalance is already running on this instance' },
  rebalanceUnmeasured: { code: 'STRATA_REBALANCE_UNMEASURED', status: 409, title: 'There is nothing to even out by this measure yet' },
  moveConflict: { code: 'STRATA_MOVE_CONFLICT', status: 409, title: 'The move cannot be started or changed in the current state' },
  internal: { code: 'STRATA_INTERNAL', status: 500, title: 'Internal error' },
} as const;

export type ProblemKind = (typeof problems)[keyof typeof problems];

export interface FieldError {
  field: string;
  message: string;
}

/** `detail` must be safe to show a client. */
export class AppError extends Error {
  retryAfterSeconds?: number;

  constructor(
    readonly problem: ProblemKind,
    readonly detail?: string,
    readonly errors?: FieldError[],
    /** More problem body members, e.g. the tenants to choose from. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail ?? problem.title);
    this.name = 'AppError';
  }
}

export function problemBody(problem: ProblemKind, detail?: string, errors?: FieldError[], extensions?: Record<string, unknown>) {
  return {
    ...extensions,
    type: `https://strata.dev/problems/${problem.code.toLowerCase().replaceAll('_', '-')}`,
    title: problem.title,
    status: problem.status,
    code: problem.code,
    ...(detail ? { detail } : {}),
    ...(errors ? { errors } : {}),
  };
}
