// Forms that submit to the API and show its field errors next to the fields:
// a problem's errors[].field (`body.name`, `params.name`) names the input.
import { h, replace } from './dom.js';

let nextId = 0;

function control(spec, id, describedBy) {
  const common = {
    id,
    name: spec.name,
    required: spec.required,
    placeholder: spec.placeholder,
    autocomplete: spec.autocomplete ?? 'off',
    'aria-describedby': describedBy,
  };
  if (spec.type === 'select') {
    return h(
      'select',
      common,
      spec.options.map((o) =>
        typeof o === 'string'
          ? h('option', { value: o, selected: o === spec.value }, o)
          : h('option', { value: o.value, selected: o.value === spec.value }, o.label),
      ),
    );
  }
  if (spec.type === 'textarea')
    return h('textarea', {
      ...common,
      rows: spec.rows ?? 4,
      spellcheck: 'false',
      value: spec.value ?? '',
    });
  return h('input', {
    ...common,
    type: spec.type ?? 'text',
    pattern: spec.pattern,
    value: spec.value ?? '',
    list: spec.list,
  });
}

/**
 * fields: [{ name, label, type?, value?, options?, required?, placeholder?, hint? }]
 * onSubmit(values) may throw an ApiError; empty optional fields are left out of values.
 */
export function apiForm({ label, fields, submit, onSubmit, inline = false }) {
  const form = h('form', { class: inline ? 'form form-inline' : 'form', 'aria-label': label });
  const controls = new Map();
  for (const spec of fields) {
    const id = `f${++nextId}-${spec.name}`;
    const hintId = spec.hint ? `${id}-hint` : null;
    const errorId = `${id}-error`;
    const input = control(spec, id, [hintId, errorId].filter(Boolean).join(' '));
    const error = h('p', { class: 'field-error', id: errorId, hidden: true });
    controls.set(spec.name, { input, error, spec });
    form.append(
      h(
        'div',
        { class: 'field' },
        h(
          'label',
          { for: id },
          spec.label,
          spec.required ? null : h('span', { class: 'optional' }, ' (optional)'),
        ),
        input,
        spec.hint ? h('p', { class: 'hint', id: hintId }, spec.hint) : null,
        error,
      ),
    );
  }
  const general = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, submit);
  form.append(h('div', { class: 'form-actions' }, button), general);

  const clearErrors = () => {
    general.hidden = true;
    for (const { input, error } of controls.values()) {
      error.hidden = true;
      error.textContent = '';
      input.removeAttribute('aria-invalid');
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors();
    const values = {};
    for (const [name, { input, spec }] of controls) {
      if (!('value' in input) || input.tagName === 'FIELDSET') continue; // a group the caller reads itself
      const value =
        spec.type === 'password' || spec.type === 'textarea' ? input.value : input.value.trim();
      if (value !== '' || spec.required) values[name] = value;
    }
    button.disabled = true;
    Promise.resolve()
      .then(() => onSubmit(values, form))
      .catch((err) => {
        const unplaced = [];
        for (const e of err.errors ?? []) {
          const target = controls.get(String(e.field).replace(/^(body|params|query)\./, ''));
          if (target) {
            target.error.textContent = e.message;
            target.error.hidden = false;
            target.input.setAttribute('aria-invalid', 'true');
          } else unplaced.push(`${e.field}: ${e.message}`);
        }
        replace(general, [err.message, ...unplaced].join(' — '));
        general.hidden = false;
        const firstBad = form.querySelector('[aria-invalid="true"]');
        if (firstBad) firstBad.focus();
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  form.controls = controls;
  return form;
}
