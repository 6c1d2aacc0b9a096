/**
 * The tenant config editor's logic, free of the DOM: the document as form fields (all text), the
 * fields back as a document, validation by the API's own zod schema (src/settings/tenant-config.ts)
 * with errors per field, and the JSON Merge Patch that turns the stored document into the edited one.
 */
import { featureNames } from '../../plans/plan-limits.js';
import { tenantConfig, type TenantConfig } from '../../settings/tenant-config.js';

export const brandingFields = ['displayName', 'primaryColor', 'accentColor', 'logoUrl', 'customDomain'] as const;
export const limitFields = ['users', 'leads', 'requestsPerMinute', 'storageMb', 'statementTimeoutMs', 'maxConcurrentStatements'] as const;
export { featureNames };

/** Field name (`branding.primaryColor`) → its text; features are 'on', 'off' or '' (the plan's). */
export type ConfigForm = Record<string, string>;

export function configToForm(config: TenantConfig): ConfigForm {
  const form: ConfigForm = {};
  for (const f of featureNames) form[`features.${f}`] = config.features?.[f] === undefined ? '' : config.features[f] ? 'on' : 'off';
  for (const b of brandingFields) form[`branding.${b}`] = config.branding?.[b] ?? '';
  for (const l of limitFields) form[`limits.${l}`] = config.limits?.[l] === undefined ? '' : String(config.limits[l]);
  return form;
}

/** A limit's text as the document holds it: a number, "unlimited", or the text itself (refused by validation). */
const limitValue = (text: string): number | string => (/^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text.trim());

export function formToConfig(form: ConfigForm): Record<string, Record<string, unknown>> {
  const config: Record<string, Record<string, unknown>> = {};
  const set = (group: string, key: string, value: unknown) => ((config[group] ??= {})[key] = value);
  for (const f of featureNames) if (form[`features.${f}`]) set('features', f, form[`features.${f}`] === 'on');
  for (const b of brandingFields) if (form[`branding.${b}`]?.trim()) set('branding', b, form[`branding.${b}`]!.trim());
  for (const l of limitFields) if (form[`limits.${l}`]?.trim()) set('limits', l, limitValue(form[`limits.${l}`]!));
  return config;
}

/** Field name → message, from the same schema the API validates with; empty when valid. */
export function validateConfig(form: ConfigForm): Record<string, string> {
  const result = tenantConfig.safeParse(formToConfig(form));
  if (result.success) return {};
  const errors: Record<string, string> = {};
  for (const issue of result.error.issues) errors[issue.path.join('.')] ??= issue.message;
  return errors;
}

/** The API's field errors (`body.config.limits.users`) as the form's field names. */
export function fieldErrorsFromProblem(errors: { field: string; message: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors ?? []) if (e.field.startsWith('body.config.')) out[e.field.slice('body.config.'.length)] ??= e.message;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396: the patch that turns `before` into `after` (null removes a member); undefined when equal. */
export function mergePatchBetween(before: unknown, after: unknown): unknown {
  if (!isObject(before) || !isObject(after)) return JSON.stringify(before) === JSON.stringify(after) ? undefined : after;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const member = key in before ? mergePatchBetween(before[key], value) : value;
    if (member !== undefined) patch[key] = member;
  }
  return Object.keys(patch).length ? patch : undefined;
}
