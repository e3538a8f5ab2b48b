// The live sales dashboard (GET /admin). Plain browser script, no build step: it signs in
// through the API, keeps the access token in sessionStorage only, reads /api/v1/admin/stats,
// and follows every event's counts on the /availability socket without reloading.
(function () {
  'use strict';

  var TOKEN_KEY = 'ticketing.adminToken';
  var STATS_REFRESH_MS = 15000;
  var STATS_AFTER_CHANGE_MS = 2000;

  var events = new Map(); // id -> stats row, counts kept current by the socket
  var countsAt = new Map(); // id -> `at` of the counts shown (PostgreSQL's clock)
  var salesPerMinute = [];
  var socket = null;
  var refreshTimer = null;
  var changeTimer = null;

  function $(id) {
    return document.getElementById(id);
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function showLogin(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopLive();
    $('dashboard').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').hidden = !message;
    $('login-error').textContent = message || '';
    $('email').focus();
  }

  function showDashboard() {
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('logout').hidden = false;
  }

  async function problemDetail(response, fallback) {
    try {
      var body = await response.json();
      return body.detail || fallback;
    } catch {
      return fallback;
    }
  }

  async function login(event) {
    event.preventDefault();
    var submit = $('login-submit');
    submit.disabled = true;
    $('login-error').hidden = true;
    try {
      var response = await fetch('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: $('email').value.trim(), password: $('password').value }),
      });
      if (!response.ok) {
        showLogin(await problemDetail(response, 'Signing in failed.'));
        return;
      }
      var body = await response.json();
      sessionStorage.setItem(TOKEN_KEY, body.accessToken);
      $('password').value = '';
      await start();
    } catch {
      showLogin('The server cannot be reached.');
    } finally {
      submit.disabled = false;
    }
  }

  async function loadStats() {
    var response = await fetch('/api/v1/admin/stats', {
      headers: { Authorization: 'Bearer ' + token() },
    });
    if (response.status === 401) throw new SignInError('Your session has ended; sign in again.');
    if (response.status === 403) throw new SignInError('This account is not an admin.');
    if (!response.ok) throw new Error(await problemDetail(response, 'Stats unavailable'));
    var stats = await response.json();
    var seen = new Set();
    stats.events.forEach(function (row) {
      seen.add(row.id);
      var known = events.get(row.id);
      // Counts from the socket newer than this read are kept.
      if (known && (countsAt.get(row.id) || '') > stats.at) {
        row.sold = known.sold;
        row.locked = known.locked;
        row.available = known.available;
      } else {
        countsAt.set(row.id, stats.at);
      }
      var isNew = !events.has(row.id);
      events.set(row.id, row);
      if (isNew && socket && socket.connected) socket.emit('subscribe', { eventId: row.id });
    });
    Array.from(events.keys()).forEach(function (id) {
      if (!seen.has(id)) events.delete(id);
    });
    salesPerMinute = stats.salesPerMinute;
    var stuck = stats.jobsNeedingAttention || [];
    $('attention').hidden = stuck.length === 0;
    $('attention').textContent =
      'Needs a human: ' +
      stuck
        .map(function (job) {
          return job.rows + ' row(s) of ' + job.job;
        })
        .join(', ') +
      ' (see job_row_attempts).';
    $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
    render();
  }

  function SignInError(message) {
    this.message = message;
  }

  async function refresh() {
    try {
      await loadStats();
    } catch (error) {
      if (error instanceof SignInError) showLogin(error.message);
    }
  }

  function onAvailability(snapshot) {
    var row = events.get(snapshot.eventId);
    if (!row) return;
    // Two instances may send one event's counts; the later read wins.
    if ((countsAt.get(snapshot.eventId) || '') > snapshot.at) return;
    countsAt.set(snapshot.eventId, snapshot.at);
    var sum = { sold: 0, locked: 0, available: 0 };
    snapshot.ticketTypes.forEach(function (type) {
      sum.sold += type.sold;
      sum.locked += type.locked;
      sum.available += type.available;
    });
    var changed =
      sum.sold !== row.sold || sum.locked !== row.locked || sum.available !== row.available;
    row.sold = sum.sold;
    row.locked = sum.locked;
    row.available = sum.available;
    if (!changed) return;
    render(snapshot.eventId);
    // Revenue, the waitlist and the sparkline follow shortly after a change.
    if (!changeTimer)
      changeTimer = setTimeout(function () {
        changeTimer = null;
        void refresh();
      }, STATS_AFTER_CHANGE_MS);
  }

  function setLive(on) {
    $('live').dataset.state = on ? 'on' : 'off';
    $('live-text').textContent = on ? 'live' : 'reconnecting…';
  }

  function startLive() {
    if (typeof io !== 'function') return;
    // WebSocket only: no sticky sessions needed behind a load balancer.
    socket = io('/availability', { transports: ['websocket'] });
    socket.on('connect', function () {
      setLive(true);
      events.forEach(function (_row, id) {
        socket.emit('subscribe', { eventId: id });
      });
    });
    socket.on('disconnect', function () {
      setLive(false);
    });
    socket.on('availability', onAvailability);
    refreshTimer = setInterval(refresh, STATS_REFRESH_MS);
  }

  function stopLive() {
    if (socket) socket.disconnect();
    socket = null;
    clearInterval(refreshTimer);
    clearTimeout(changeTimer);
    changeTimer = null;
    $('live').dataset.state = 'off';
    $('live-text').textContent = 'offline';
  }

  async function start() {
    try {
      await loadStats();
    } catch (error) {
      if (error instanceof SignInError) return showLogin(error.message);
      return showLogin(error.message || 'Stats unavailable.');
    }
    showDashboard();
    startLive();
  }

  // Rendering ---------------------------------------------------------------------------

  var number = new Intl.NumberFormat();

  function money(minor, currency) {
    try {
      return new Intl.NumberFormat(undefined, {
        style: 'currency',
        currency: currency.toUpperCase(),
      }).format(minor / 100);
    } catch {
      return (minor / 100).toFixed(2) + ' ' + currency.toUpperCase();
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function numberCell(label, value, key) {
    var cell = el('td', 'num', value);
    cell.dataset.label = label;
    if (key) cell.dataset.key = key;
    return cell;
  }

  function bar(row) {
    var total = row.sold + row.locked + row.available || 1;
    var wrap = el('div', 'bar');
    var sold = el('span', 'sold');
    sold.style.width = (100 * row.sold) / total + '%';
    var locked = el('span', 'locked');
    locked.style.width = (100 * row.locked) / total + '%';
    wrap.append(sold, locked);
    return wrap;
  }

  function eventRow(row) {
    var tr = el('tr');
    tr.dataset.eventId = row.id;
    var name = el('td');
    var title = el('div', 'event-name', row.name);
    if (row.status === 'cancelled') title.append(el('span', 'badge', 'cancelled'));
    name.append(
      title,
      el(
        'div',
        'event-when',
        new Date(row.startsAt).toLocaleString(undefined, {
          dateStyle: 'medium',
          timeStyle: 'short',
        }),
      ),
    );
    var total = row.sold + row.locked + row.available;
    var sales = el('td', 'bar-cell');
    sales.append(
      bar(row),
      el(
        'div',
        'bar-legend',
        total ? Math.round((100 * row.sold) / total) + '% sold of ' + number.format(total) : '—',
      ),
    );
    tr.append(
      name,
      sales,
      numberCell('Sold', number.format(row.sold), 'sold'),
      numberCell('Held', number.format(row.locked), 'locked'),
      numberCell('Available', number.format(row.available), 'available'),
      numberCell('Revenue', money(row.revenue, row.currency), 'revenue'),
      numberCell('Waitlist', number.format(row.waitlist), 'waitlist'),
      numberCell('Checked in', number.format(row.checkedIn), 'checkedIn'),
    );
    return tr;
  }

  function renderTotals() {
    var sold = 0;
    var locked = 0;
    var waitlist = 0;
    var checkedIn = 0;
    var revenue = new Map();
    events.forEach(function (row) {
      sold += row.sold;
      locked += row.locked;
      waitlist += row.waitlist;
      checkedIn += row.checkedIn;
      revenue.set(row.currency, (revenue.get(row.currency) || 0) + row.revenue);
    });
    $('total-sold').textContent = number.format(sold);
    $('total-locked').textContent = number.format(locked);
    var revenueTile = $('total-revenue');
    revenueTile.replaceChildren.apply(
      revenueTile,
      revenue.size === 0
        ? [document.createTextNode('–')]
        : Array.from(revenue, function (entry) {
            return el('div', '', money(entry[1], entry[0]));
          }),
    );
    revenueTile.classList.toggle('multi', revenue.size > 1);
    $('total-waitlist').textContent = number.format(waitlist);
    $('total-checked-in').textContent = number.format(checkedIn);
  }

  function renderSparkline() {
    var svg = $('sparkline');
    var ns = 'http://www.w3.org/2000/svg';
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var values = salesPerMinute.map(function (m) {
      return m.tickets;
    });
    var total = values.reduce(function (a, b) {
      return a + b;
    }, 0);
    $('spark-total').textContent = number.format(total);
    $('spark-peak').textContent = number.format(Math.max.apply(null, values.concat([0])));
    var width = 600;
    var height = 80;
    var top = Math.max.apply(null, values.concat([1]));
    var step = values.length > 1 ? width / (values.length - 1) : width;
    var points = values.map(function (value, i) {
      return [i * step, height - 4 - (value / top) * (height - 10)];
    });
    var line = points
      .map(function (p, i) {
        return (i ? 'L' : 'M') + p[0].toFixed(1) + ' ' + p[1].toFixed(1);
      })
      .join(' ');
    var base = document.createElementNS(ns, 'line');
    base.setAttribute('class', 'base');
    base.setAttribute('x1', '0');
    base.setAttribute('x2', String(width));
    base.setAttribute('y1', String(height - 4));
    base.setAttribute('y2', String(height - 4));
    svg.append(base);
    if (points.length === 0) return;
    var area = document.createElementNS(ns, 'path');
    area.setAttribute('class', 'area');
    area.setAttribute('d', line + ' L' + width + ' ' + (height - 4) + ' L0 ' + (height - 4) + ' Z');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('class', 'line');
    path.setAttribute('d', line);
    svg.append(area, path);
  }

  /** Everything, or (after a socket update) only that event's row and the totals. */
  function render(changedId) {
    var body = $('event-rows');
    if (changedId) {
      var old = body.querySelector('tr[data-event-id="' + changedId + '"]');
      if (old) {
        var fresh = eventRow(events.get(changedId));
        fresh.classList.add('flash');
        body.replaceChild(fresh, old);
      }
    } else {
      var rows = Array.from(events.values()).map(eventRow);
      body.replaceChildren.apply(body, rows);
      renderSparkline();
    }
    $('empty').hidden = events.size > 0;
    $('events').hidden = events.size === 0;
    renderTotals();
  }

  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', function () {
    showLogin();
  });
  if (token()) void start();
  else showLogin();
})();
