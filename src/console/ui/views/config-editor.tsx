import { useState } from 'preact/hooks';
import { ApiError, request } from '../api.js';
import { Alert } from '../components.js';
import {
  brandingFields,
  configToForm,
  featureNames,
  fieldErrorsFromProblem,
  formToConfig,
  limitFields,
  mergePatchBetween,
  validateConfig,
} from '../config-form.js';
import type { TenantConfig } from '../../../settings/tenant-config.js';

/** The tenant's config document as a form, checked by the API's own schema before it is sent. */
export function ConfigEditor({ tenantId, config, onSaved }: { tenantId: string; config: Record<string, unknown>; onSaved: () => void }) {
  const [form, setForm] = useState(() => configToForm(config as TenantConfig));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const set = (name: string, value: string) => setForm({ ...form, [name]: value });
  const save = async (event: Event) => {
    event.preventDefault();
    setMessage(null);
    setFailure(null);
    const found = validateConfig(form);
    setErrors(found);
    if (Object.keys(found).length) return;
    const patch = mergePatchBetween(config, formToConfig(form));
    if (patch === undefined) return setMessage('Nothing changed.');
    try {
      await request('PATCH', `/admin/tenants/${tenantId}`, { config: patch });
      setMessage('Config saved.');
      onSaved();
    } catch (e) {
      if (e instanceof ApiError) setErrors(fieldErrorsFromProblem(e.errors));
      setFailure(e instanceof Error ? e.message : String(e));
    }
  };
  const text = (name: string, label: string, hint?: string) => (
    <label key={name}>
      {label}
      <input
        name={name}
        value={form[name]}
        onInput={(e) => set(name, e.currentTarget.value)}
        aria-invalid={errors[name] ? 'true' : undefined}
        aria-describedby={errors[name] ? `${name}-error` : undefined}
        placeholder={hint}
      />
      {errors[name] && (
        <span class="field-error" id={`${name}-error`}>
          {errors[name]}
        </span>
      )}
    </label>
  );
  return (
    <form class="config" onSubmit={save} noValidate aria-labelledby="config-title">
      <h2 id="config-title">Config</h2>
      <fieldset>
        <legend>Features</legend>
        {featureNames.map((f) => (
          <label key={f}>
            {f}
            <select name={`features.${f}`} value={form[`features.${f}`]} onChange={(e) => set(`features.${f}`, e.currentTarget.value)}>
              <option value="">plan default</option>
              <option value="on">on</option>
              <option value="off">off</option>
            </select>
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Branding</legend>
        {brandingFields.map((b) => text(`branding.${b}`, b, b.endsWith('Color') ? '#1a2b3c' : undefined))}
      </fieldset>
      <fieldset>
        <legend>Limits (a number or “unlimited”; empty: the plan’s)</legend>
        {limitFields.map((l) => text(`limits.${l}`, l))}
      </fieldset>
      {Object.keys(errors).length > 0 && <Alert>Some fields are invalid: see the messages beside them.</Alert>}
      {failure && !Object.keys(errors).length && <Alert>{failure}</Alert>}
      {message && <Alert kind="info">{message}</Alert>}
      <button type="submit">Save config</button>
    </form>
  );
}
