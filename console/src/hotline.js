// The hotline panel: in box and out box with delivery and acknowledgement states, compose from
// the category templates (docs/hotline.md), reply and acknowledge. The service validates every
// field again; this table only lays out the form.
import { api, serverNow } from './api.js';
import { el, clear, fmtCountdown, fmtTime } from './ui.js';

// category -> [[field, kind, required]]; kinds: time, number, text, list
export const TEMPLATES = {
  operation_notice: [
    ['time_start', 'time', true], ['time_end', 'time', true],
    ['alt_lower_ft', 'number', true], ['alt_upper_ft', 'number', true],
    ['lat', 'number', false], ['lon', 'number', false], ['radius_nm', 'number', false],
    ['remarks', 'text', false],
  ],
  deconfliction_request: [
    ['request', 'text', true], ['time_start', 'time', false], ['time_end', 'time', false],
    ['alt_lower_ft', 'number', false], ['alt_upper_ft', 'number', false],
    ['lat', 'number', false], ['lon', 'number', false], ['radius_nm', 'number', false],
  ],
  incident: [
    ['time', 'time', true], ['lat', 'number', true], ['lon', 'number', true],
    ['alt_ft', 'number', true], ['description', 'text', true], ['tracks', 'list', false],
  ],
  suspension: [['reason', 'text', true], ['until', 'time', false]],
  resumption: [['remarks', 'text', false]],
  debrief: [['period_start', 'time', true], ['period_end', 'time', true], ['summary', 'text', true]],
  free_text: [['text', 'text', true]],
};

export class Hotline {
  constructor(state, { onChange }) {
    this.state = state;
    this.onChange = onChange;
    this.box = 'in';
    this.list = document.getElementById('message-list');
    this.dialog = document.getElementById('compose');
    this.form = document.getElementById('compose-form');
    this.category = document.getElementById('c-category');
    for (const c of Object.keys(TEMPLATES)) this.category.append(el('option', { value: c }, c.replace(/_/g, ' ')));
    this.category.value = 'free_text';
    this.category.addEventListener('change', () => this.fields());
    document.getElementById('box-in').addEventListener('click', () => this.show('in'));
    document.getElementById('box-out').addEventListener('click', () => this.show('out'));
    document.getElementById('compose-btn').addEventListener('click', () => this.compose());
    document.getElementById('c-cancel').addEventListener('click', () => this.dialog.close());
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.fields();
  }

  async load() {
    const [inbox, outbox] = await Promise.all([api('GET', '/v1/messages?box=in'), api('GET', '/v1/messages?box=out')]);
    this.state.inbox = new Map(inbox.messages.map((m) => [m.id, m]));
    this.state.outbox = new Map(outbox.messages.map((m) => [m.id, m]));
    this.render();
  }

  show(box) {
    this.box = box;
    document.getElementById('box-in').classList.toggle('active', box === 'in');
    document.getElementById('box-out').classList.toggle('active', box === 'out');
    this.render();
  }

  // The oldest received message still waiting for our acknowledgement.
  oldestUnacked() {
    return [...this.state.inbox.values()]
      .filter((m) => m.ack_required && !m.acknowledged_at)
      .sort((a, b) => Date.parse(a.sent_at) - Date.parse(b.sent_at))[0];
  }

  render() {
    const all = [...(this.box === 'in' ? this.state.inbox : this.state.outbox).values()];
    all.sort((a, b) => Date.parse(b.sent_at) - Date.parse(a.sent_at));
    const waiting = [...this.state.inbox.values()].filter((m) => m.ack_required && !m.acknowledged_at).length;
    document.getElementById('in-count').textContent = waiting ? String(waiting) : '';
    clear(this.list);
    if (!all.length) this.list.append(el('li', { class: 'empty' }, this.box === 'in' ? 'No messages received.' : 'No messages sent.'));
    for (const m of all.slice(0, 200)) this.list.append(this.item(m));
  }

  item(m) {
    const inbound = this.box === 'in';
    const due = m.ack_required && !m.acknowledged_at && m.ack_due ? Date.parse(m.ack_due) : null;
    const late = due !== null && due < serverNow();
    const li = el('li', {
      class: `msg prio-${m.priority} state-${m.state}${due !== null ? ' needs-ack' : ''}${late ? ' late' : ''}`,
      'data-id': m.id,
      'data-state': m.state,
    });
    const who = inbound ? `from ${m.from}` : `to ${m.to}`;
    li.append(
      el('div', { class: 'msg-head' },
        el('b', {}, who), ' · ', m.category.replace(/_/g, ' '), ' · ',
        el('span', { class: 'prio' }, m.priority),
        el('span', { class: 'msg-state' }, m.state + (m.recipient_suspended ? ' (recipient suspended)' : '')),
      ),
      el('pre', { class: 'msg-text' }, (m.text && m.text.en) || ''),
    );
    if (m.text && m.text.ru) li.append(el('details', {}, el('summary', {}, 'Русский'), el('pre', { class: 'msg-text' }, m.text.ru)));
    const meta = [`sent ${fmtTime(m.sent_at)}`];
    if (m.delivered_at) meta.push(`delivered ${fmtTime(m.delivered_at)}`);
    if (m.acknowledged_at) meta.push(`acknowledged ${fmtTime(m.acknowledged_at)}`);
    if (m.escalations) meta.push(`escalated ×${m.escalations}`);
    if (m.in_reply_to) meta.push('reply');
    li.append(el('div', { class: 'msg-meta' }, meta.join(' · ')));
    if (m.reply_text) li.append(el('div', { class: 'msg-reply' }, `Reply: ${m.reply_text}`));
    if (due !== null) li.append(el('div', { class: 'msg-due', 'data-due': String(due) }, this.dueText(due)));
    if (inbound) {
      const buttons = el('div', { class: 'buttons' });
      if (m.ack_required && !m.acknowledged_at) {
        const reply = el('input', { class: 'ack-reply', placeholder: 'reply (optional)', maxlength: '4000' });
        buttons.append(reply, el('button', { type: 'button', class: 'ack', onclick: () => this.ack(m.id, reply.value) }, 'Acknowledge'));
      }
      buttons.append(el('button', { type: 'button', class: 'reply', onclick: () => this.compose(m) }, 'Reply'));
      li.append(buttons);
    }
    return li;
  }

  dueText(due) {
    const left = (due - serverNow()) / 1000;
    return left >= 0 ? `acknowledge within ${fmtCountdown(left)} (by ${fmtTime(new Date(due).toISOString())})` : `acknowledgement overdue by ${fmtCountdown(-left)}`;
  }

  tick() {
    for (const d of this.list.querySelectorAll('.msg-due')) d.textContent = this.dueText(Number(d.dataset.due));
  }

  async ack(id, reply) {
    try {
      const m = await api('POST', `/v1/messages/${encodeURIComponent(id)}/ack`, reply ? { reply } : {});
      this.state.inbox.set(m.id, m);
      this.render();
      this.onChange();
    } catch (e) {
      this.onChange(`Acknowledging the message failed: ${e.message}`);
    }
  }

  // The form for a new message, or for a reply to m.
  compose(m) {
    document.getElementById('c-error').textContent = '';
    document.getElementById('compose-title').textContent = m ? `Reply to ${m.from}` : 'New message';
    document.getElementById('c-to').value = m ? m.from : '';
    document.getElementById('c-reply-to').value = m ? m.id : '';
    this.category.value = 'free_text';
    const names = new Set();
    for (const c of this.state.conflicts.values()) if (c.other_party) names.add(c.other_party);
    for (const x of this.state.inbox.values()) names.add(x.from);
    for (const x of this.state.outbox.values()) if (x.to) names.add(x.to);
    const dl = document.getElementById('c-parties');
    clear(dl);
    for (const n of [...names, '*']) dl.append(el('option', { value: n }));
    this.fields();
    this.dialog.showModal();
    document.getElementById(m ? 'f-text' : 'c-to').focus();
  }

  fields() {
    const box = document.getElementById('c-fields');
    clear(box);
    const now = new Date(serverNow()).toISOString().replace(/\.\d+Z$/, 'Z');
    for (const [name, kind, required] of TEMPLATES[this.category.value]) {
      const id = `f-${name}`;
      const input = kind === 'text'
        ? el('textarea', { id, rows: '3', maxlength: '4000' })
        : el('input', { id, type: kind === 'number' ? 'number' : 'text', step: 'any' });
      if (kind === 'time') {
        input.placeholder = 'YYYY-MM-DDTHH:MM:SSZ';
        if (required) input.value = now;
      }
      if (kind === 'list') input.placeholder = 'track ids, comma separated';
      if (required) input.required = true;
      input.dataset.field = name;
      input.dataset.kind = kind;
      box.append(el('div', { class: 'row' }, el('label', { for: id }, name.replace(/_/g, ' ') + (required ? ' *' : '')), input));
    }
  }

  async send() {
    const body = {
      to: document.getElementById('c-to').value.trim(),
      category: this.category.value,
      priority: document.getElementById('c-priority').value,
      fields: {},
    };
    for (const input of document.querySelectorAll('#c-fields [data-field]')) {
      const v = input.value.trim();
      if (!v) continue;
      const k = input.dataset.kind;
      body.fields[input.dataset.field] = k === 'number' ? Number(v) : k === 'list' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
    }
    if (document.getElementById('c-ack').checked) {
      body.ack_required = true;
      body.ack_deadline_s = Number(document.getElementById('c-deadline').value);
    }
    const replyTo = document.getElementById('c-reply-to').value;
    if (replyTo) body.in_reply_to = replyTo;
    try {
      const res = await api('POST', '/v1/messages', body);
      for (const m of res.messages) this.state.outbox.set(m.id, m);
      this.dialog.close();
      this.show('out');
    } catch (e) {
      const field = e.problem && e.problem.field ? ` (${e.problem.field})` : '';
      document.getElementById('c-error').textContent = `${e.message}${field}`;
    }
  }
}
