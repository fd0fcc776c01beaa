// The chat widget on the partner's page: deep-chat (the chat UI) carrying socket.io-client (the
// connection to the assistant's widget channel, bot/channels/widget.py). Both come from
// node_modules, pinned by widget/package-lock.json.
//
// Safety: nothing the customer or the assistant writes is ever parsed as HTML. Bot messages are
// built as DOM nodes with textContent (links only for http(s) and mailto), and deep-chat gets
// their serialisation, which escapes every text; typed messages go through deep-chat's markdown
// with HTML off. Its markdown still turns [text](javascript:...) into a link (the browser test
// caught it), so every link that appears in the chat and is not http(s) or mailto becomes its text.
//
// A support agent's words (custom.agent.name, bot/handoff/) are shown as theirs: the agent's name
// over them, in a bubble of their own colour. Typing goes both ways: while the customer types, the
// widget tells the server (at most every TYPING_SIGNAL_MS); "<name> is typing…" shows while an
// agent types, until their message arrives or TYPING_SHOWN_MS pass without a new signal.

const config = JSON.parse(document.getElementById('widget-config').textContent);
const S = config.strings;
const chat = document.getElementById('chat');
const status = document.getElementById('widget-status');
const typingLine = document.getElementById('widget-typing');
const SESSION_KEY = 'billing-help-desk.anonymous-session';
const TYPING_SIGNAL_MS = 2500;
const TYPING_SHOWN_MS = 6000;  // as long as the desk shows a typing signal (bot/handoff/queue.py)
const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"']*[^\s<>"'.,;:!?)]/gi;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Text with http(s) and mailto links made clickable; everything else stays text.
function paragraph(text, className) {
  const p = el('p', className);
  p.style.cssText = 'margin: 0 0 6px; white-space: pre-wrap;';  // the assistant's line breaks are kept
  const value = String(text || '');
  let last = 0;
  for (const match of value.matchAll(LINK)) {
    p.append(document.createTextNode(value.slice(last, match.index)));
    const a = el('a', null, match[0]);
    a.href = match[0];
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    p.append(a);
    last = match.index + match[0].length;
  }
  p.append(document.createTextNode(value.slice(last)));
  return p;
}

// A bot message: the structured reply (lead text, a table of label/value items, a list of plain
// items, a footer) when there is one, else its text; then quick replies and downloads.
function agentName(message) {
  const agent = message && message.custom && typeof message.custom.agent === 'object' ? message.custom.agent : null;
  return agent && typeof agent.name === 'string' && agent.name.trim() ? agent.name.trim() : null;
}

function fill(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (whole, key) => (key in values ? values[key] : whole));
}

function botHtml(message) {
  const name = agentName(message);
  const box = el('div', name ? 'bhd-reply bhd-agent' : 'bhd-reply');
  if (name) box.append(el('div', 'bhd-agent-name', fill(S.agent_label, {name})));
  const reply = message.custom && typeof message.custom.reply === 'object' ? message.custom.reply : null;
  if (reply) {
    if (reply.text) box.append(paragraph(reply.text));
    const items = Array.isArray(reply.items) ? reply.items.filter((i) => i && typeof i === 'object') : [];
    const rows = items.filter((i) => i.label !== undefined && i.label !== null);
    const plain = items.filter((i) => (i.label === undefined || i.label === null) && i.text);
    if (rows.length) {
      const table = el('table', 'bhd-items');
      for (const item of rows) {
        const tr = el('tr');
        const label = el('th', null, item.label);
        const value = el('td', null, item.value);
        label.style.cssText = 'text-align: left; font-weight: normal; padding: 2px 18px 2px 0;';
        value.style.cssText = 'text-align: right; padding: 2px 0; white-space: nowrap;';
        tr.append(label, value);
        table.append(tr);
      }
      box.append(table);
    }
    if (plain.length) {
      const list = el('ul', 'bhd-list');
      for (const item of plain) list.append(el('li', null, item.text));
      box.append(list);
    }
    if (reply.footer) box.append(paragraph(reply.footer, 'bhd-footer'));
  } else {
    box.append(paragraph(message.text));
  }
  const downloads = message.custom && Array.isArray(message.custom.downloads) ? message.custom.downloads : [];
  for (const download of downloads) {
    if (!download || typeof download.url !== 'string' || !/^https?:\/\//i.test(download.url)) continue;
    const a = el('a', 'bhd-download', download.title || S.download);
    a.href = download.url;
    a.setAttribute('download', download.filename || '');
    box.append(a);
  }
  const buttons = Array.isArray(message.buttons) ? message.buttons : [];
  if (buttons.length) {
    const row = el('div', 'bhd-quick-replies');
    for (const button of buttons) {
      const b = el('button', 'bhd-quick-reply', button.title);
      b.type = 'button';
      b.setAttribute('data-payload', String(button.payload || ''));
      row.append(b);
    }
    box.append(row);
  }
  return box.outerHTML;
}

function userMessage(text) {
  return {role: 'user', text: String(text)};
}

// The assistant's messages and a support agent's are told apart by role (styled below).
function botMessage(message) {
  return {role: agentName(message) ? 'agent' : 'ai', html: botHtml(message)};
}

// --- "<name> is typing…" -------------------------------------------------------------------------
let typingTimer = null;

function showTyping(name) {
  clearTimeout(typingTimer);
  if (!name) {
    typingLine.textContent = '';
    return;
  }
  typingLine.textContent = fill(S.typing, {name});
  typingTimer = setTimeout(() => showTyping(null), TYPING_SHOWN_MS);
}

// --- the connection ---------------------------------------------------------------------------
const socket = io(config.botUrl, {
  path: '/socket.io',
  transports: ['websocket', 'polling'],
  auth: {token: config.token || undefined, locale: config.locale},
});
let signals = null;

function show(text) {
  status.textContent = text || '';
}

function send(payload, shownAs) {
  if (shownAs !== undefined) chat.addMessage(userMessage(shownAs));
  socket.emit('user_uttered', {message: payload});
}

socket.on('connect', () => {
  show('');
  socket.emit('session_request', {session: localStorage.getItem(SESSION_KEY) || undefined});
});

socket.on('session_confirm', (session) => {
  if (session.session) localStorage.setItem(SESSION_KEY, session.session);
  chat.clearMessages(true);
  for (const message of session.history || []) {
    chat.addMessage(message.sender === 'user' ? userMessage(message.text) : botMessage(message));
  }
  if (signals) signals.onOpen();
  chat.dataset.ready = 'true';  // the conversation is open: typing is sent (tests wait for this too)
});

socket.on('bot_uttered', (message) => {
  if (agentName(message)) showTyping(null);  // their words are here
  chat.addMessage(botMessage(message));
});

socket.on('agent_typing', (signal) => {
  const name = signal && typeof signal.name === 'string' ? signal.name : '';
  showTyping(signal && signal.typing !== false ? name : null);
});

socket.on('connect_error', (error) => {
  // A refusal by the server (sign-in expired or invalid, a page not allowed) is final; otherwise
  // socket.io keeps trying.
  show(error && error.data && error.data.message ? error.data.message : S.disconnected);
});

socket.on('disconnect', () => {
  delete chat.dataset.ready;
  show(S.disconnected);
});

// Sign-out forgets this browser's anonymous conversation too.
const signOut = document.querySelector('form[action="/signout"]');
if (signOut) signOut.addEventListener('submit', () => localStorage.removeItem(SESSION_KEY));

// --- deep-chat ------------------------------------------------------------------------------------
const SAFE_LINK = /^(?:https?:|mailto:)/i;

function disarmLinks(root) {
  for (const a of root.querySelectorAll('a')) {
    if (!SAFE_LINK.test((a.getAttribute('href') || '').trim())) a.replaceWith(document.createTextNode(a.textContent));
  }
}

customElements.whenDefined('deep-chat').then(() => {
  new MutationObserver(() => disarmLinks(chat.shadowRoot)).observe(chat.shadowRoot, {childList: true, subtree: true});
});

chat.introMessage = {text: S.intro};
chat.textInput = {placeholder: {text: S.placeholder}, characterLimit: 8000};
chat.remarkable = {html: false, typographer: false, breaks: true};
chat.history = [];
chat.style.cssText = 'width: 100%; height: 560px; border: 1px solid #cbd2d9; border-radius: 8px; background: #fff; '
  + 'font-family: system-ui, "Noto Sans CJK SC", "Droid Sans Fallback", sans-serif;';  // not Inter from a CDN
chat.messageStyles = {
  default: {shared: {bubble: {maxWidth: '85%'}}, ai: {bubble: {background: '#eef2f7'}}},
  html: {
    shared: {bubble: {maxWidth: '85%', background: '#eef2f7'}},
    agent: {bubble: {background: '#fff6e5', border: '1px solid #f0c36d'}},
  },
};
chat.htmlClassUtilities = {
  'bhd-quick-reply': {
    events: {click: (event) => {
      const button = event.target.closest ? event.target.closest('.bhd-quick-reply') : event.target;
      send(button.getAttribute('data-payload'), button.textContent);
    }},
    styles: {
      default: {border: '1px solid #0b4f6c', borderRadius: '14px', padding: '4px 12px', margin: '6px 6px 0 0',
                background: '#fff', color: '#0b4f6c', cursor: 'pointer'},
      hover: {background: '#0b4f6c', color: '#fff'},
    },
  },
  'bhd-items': {styles: {default: {borderCollapse: 'collapse', margin: '6px 0', fontSize: '0.95em'}}},
  'bhd-footer': {styles: {default: {color: '#52606d', fontSize: '0.9em'}}},
  'bhd-agent-name': {styles: {default: {fontWeight: '600', fontSize: '0.85em', color: '#8a5300', marginBottom: '4px'}}},
  'bhd-download': {styles: {default: {display: 'inline-block', marginTop: '6px', color: '#0b4f6c', fontWeight: '600'}}},
};
// The customer is typing: the server hears of it at most every TYPING_SIGNAL_MS (an agent sees it).
let lastTypingSignal = 0;
chat.addEventListener('input', (event) => {
  const content = event.detail && event.detail.content;
  if (content && !content.text) return;  // the box was emptied (a message sent)
  const now = Date.now();
  if (!socket.connected || !chat.dataset.ready || now - lastTypingSignal < TYPING_SIGNAL_MS) return;
  lastTypingSignal = now;
  socket.emit('user_typing');
});

chat.connect = {
  websocket: true,
  handler: (_body, deepChatSignals) => {
    signals = deepChatSignals;
    if (socket.connected) signals.onOpen();
    signals.newUserMessage.listener = (body) => {
      const text = body && body.messages && body.messages[0] ? body.messages[0].text : '';
      if (text) send(text);
    };
  },
};
