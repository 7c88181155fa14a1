// An organization's billing: plan and standing, this period's credits by
// project (a bar chart in plain HTML/CSS), top schedules, the spend cap
// (owners), payment status and the way to Stripe Checkout and the Portal.
import { patch, post, get, u } from './api.js';
import { act, badge, h, muted, notify, section, table, when } from './dom.js';
import { apiForm } from './forms.js';

/** Credits are counted in tenths: always one decimal. */
export const credits = (n) => (n === null || n === undefined ? '—' : n.toFixed(1));
const money = (cents) =>
  cents === null || cents === undefined ? '—' : `$${(cents / 100).toFixed(2)}`;
const fact = (label, ...value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));

function paymentText(b) {
  const subscription = b.subscription_status ? ` · subscription ${b.subscription_status}` : '';
  if (b.payment_state === 'past_due')
    return [
      badge('past_due'),
      ' A payment failed',
      b.grace_ends_at ? ['; the grace period ends ', when(b.grace_ends_at)] : '',
      subscription,
    ];
  if (b.payment_state === 'ok')
    return [badge('ok'), b.has_payment_method ? ' Payment method on file' : '', subscription];
  return [b.has_payment_method ? 'Payment method on file' : 'No payment method', subscription];
}

/** A horizontal bar per row, its length the share of the largest; the figures are text too. */
function barChart(label, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  const max = Math.max(...rows.map((r) => r.credits), 0.1);
  return h(
    'ul',
    { class: 'bar-chart', 'aria-label': label },
    rows.map((r) => {
      const fill = h('span', { class: 'bar-fill' });
      // CSSOM, not a style attribute: the CSP allows no inline styles.
      fill.style.width = `${Math.max(1, Math.round((r.credits / max) * 100))}%`;
      return h(
        'li',
        { class: 'bar-row', 'data-key': r.key },
        h('span', { class: 'bar-label', title: r.name }, r.name),
        h('span', { class: 'bar-track', 'aria-hidden': 'true' }, fill),
        h(
          'span',
          { class: 'bar-value num' },
          `${credits(r.credits)} credits`,
          muted(` · ${r.runs} run${r.runs === 1 ? '' : 's'}`),
        ),
      );
    }),
  );
}

/** Sends the owner to the Stripe page the API answers with (only ever an http(s) URL). */
async function redirectTo(url, body) {
  const session = await post(url, body);
  const target = new URL(session.url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    throw new Error('The billing provider returned an unexpected address.');
  location.assign(target.toString());
}

/** Dollars as typed ("50", "12.50") → cents; empty removes the cap. */
function capCents(value) {
  if (value === undefined || value === '') return null;
  if (!/^\d+(\.\d{1,2})?$/.test(value)) {
    const err = new Error('The spend cap is not valid.');
    err.errors = [{ field: 'spend_cap', message: 'dollars, like 50 or 12.50; empty for no cap' }];
    throw err;
  }
  return Math.round(Number(value) * 100);
}

export async function billingView(ctx) {
  const { org } = ctx;
  const api = u`/orgs/${org.slug}`;
  const [b, byProject, bySchedule] = await Promise.all([
    get(`${api}/billing`),
    get(`${api}/usage?by=project&page_size=1`),
    get(`${api}/usage?by=schedule&page_size=1`),
  ]);
  const owner = ctx.can('billing:write');
  const here = `#/o/${encodeURIComponent(org.slug)}/billing`;
  // Relative: the API resolves it against its public URL (and refuses other origins).
  const returnUrl = `/${here}`;

  const status = b.limit_reached
    ? h(
        'p',
        { class: 'warning billing-status', role: 'alert' },
        'Work is paused: ',
        b.limit_reached,
      )
    : h(
        'p',
        { class: 'billing-status' },
        badge('active'),
        b.enforced
          ? ' Runs and schedules may start.'
          : muted(
              ' Billing is not enforced on this server: usage is recorded, nothing is charged.',
            ),
      );

  const facts = h(
    'dl',
    { class: 'facts billing-facts' },
    fact(
      'Plan',
      b.plan.name,
      muted(
        b.plan.price_per_credit_cents === null
          ? ` · ${credits(b.plan.free_allowance_credits)} credits a month included`
          : ` · ${money(b.plan.price_per_credit_cents)} per credit`,
      ),
    ),
    fact('Period', b.period, muted(' (UTC)')),
    fact(
      'Credits used',
      h('span', { class: 'num', 'data-figure': 'credits-used' }, credits(b.credits_used)),
    ),
    fact(
      'Credits left',
      h('span', { class: 'num', 'data-figure': 'credits-left' }, credits(b.credits_left)),
    ),
    fact('Spend', h('span', { class: 'num' }, money(b.spend_cents))),
    fact(
      'Spend cap',
      h(
        'span',
        { class: 'num', 'data-figure': 'spend-cap' },
        b.spend_cap_cents === null ? 'none' : money(b.spend_cap_cents),
      ),
    ),
    fact('Billing account', h('code', {}, b.billing_account_number)),
  );

  const buttons = [];
  if (owner && b.enforced) {
    if (!b.has_payment_method) {
      const checkout = h(
        'button',
        {
          type: 'button',
          onclick: () =>
            act(checkout, () =>
              redirectTo(`${api}/billing/checkout`, {
                success_url: returnUrl,
                cancel_url: returnUrl,
              }),
            ),
        },
        'Add a payment method (Stripe Checkout)',
      );
      buttons.push(checkout);
    }
    const portal = h(
      'button',
      {
        type: 'button',
        class: b.has_payment_method ? null : 'secondary',
        onclick: () =>
          act(portal, () => redirectTo(`${api}/billing/portal`, { return_url: returnUrl })),
      },
      'Open the Customer Portal',
    );
    buttons.push(portal);
  }

  const capForm = owner
    ? apiForm({
        label: 'Set the spend cap',
        inline: true,
        fields: [
          {
            name: 'spend_cap',
            label: 'Spend cap per month (USD)',
            value: b.spend_cap_cents === null ? '' : (b.spend_cap_cents / 100).toFixed(2),
            placeholder: 'no cap',
            hint: 'Runs pause when this period’s spend reaches it. Empty removes the cap.',
          },
        ],
        submit: 'Save cap',
        onSubmit: async (values) => {
          const cents = capCents(values.spend_cap);
          await patch(`${api}/billing`, { spend_cap_cents: cents }).catch((err) => {
            for (const e of err.errors ?? [])
              if (e.field === 'body.spend_cap_cents') e.field = 'spend_cap';
            throw err;
          });
          notify(cents === null ? 'Spend cap removed.' : `Spend cap set to ${money(cents)}.`);
          ctx.navigate(here);
        },
      })
    : null;

  const topSchedules = bySchedule.totals.slice(0, 10);
  ctx.show(
    h('h1', {}, 'Billing'),
    h('p', { class: 'subtitle' }, org.name, ' · credits are counted from the usage ledger'),
    section('Plan', status, facts),
    section(
      'Credits this period by project',
      h(
        'p',
        { class: 'muted' },
        `${credits(byProject.total_credits)} credits in ${byProject.period}`,
      ),
      barChart('Credits by project', byProject.totals, `No usage in ${byProject.period} yet.`),
    ),
    section(
      'Top schedules by credits',
      table(
        'Top schedules by credits',
        ['Deployment / schedule or job', 'Credits', 'Runs'],
        topSchedules.map((s) => [
          s.name,
          h('span', { class: 'num' }, credits(s.credits)),
          h('span', { class: 'num' }, String(s.runs)),
        ]),
        `No runs have used credits in ${bySchedule.period} yet.`,
      ),
    ),
    section(
      'Payment',
      h('p', { class: 'payment-status' }, paymentText(b)),
      buttons.length ? h('div', { class: 'actions' }, buttons) : null,
      !b.enforced
        ? h('p', { class: 'hint' }, 'This server has no Stripe account configured.')
        : !owner
          ? h('p', { class: 'hint' }, 'Only owners can manage payment and the spend cap.')
          : null,
    ),
    capForm ? section('Spend cap', capForm) : null,
  );
}
