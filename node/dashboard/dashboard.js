/*
 * dashboard.js - the fleet dashboard's behaviour (served at /dashboard.js).
 *
 * Every REFRESH_MS it fetches /v1/fleet and /v1/fleet/sites from the node
 * that served the page (relative URLs only: the page talks to nothing else)
 * and updates the DOM in place; it never reloads. Of each site it asks only
 * the fields it draws (SITE_FIELDS): a site's annotations, pods, links and
 * intents are most of its line and the map shows none of them. A refresh starts only when
 * the previous one has ended, so a slow node is never asked twice at once.
 *
 * Text from the API only ever reaches the page through textContent or an
 * attribute value, never as markup: site names, labels and reasons are data.
 *
 * Scale: one SVG circle per site, kept in a Map by name and touched only
 * when its position or colour changes; sites are otherwise not listed in the
 * DOM (the strip of sites without coordinates shows the first UNPLACED_MAX).
 * Markers sit in one layer per severity so the sites that need a look are
 * drawn above the healthy ones.
 */
'use strict';

(function () {
	const REFRESH_MS = 2000;
	const TIMEOUT_MS = 10000; // a node that accepts but never answers is not answering
	const UNPLACED_MAX = 100;
	const POLICY_MAX = 20;
	const ALERT_SITES_MAX = 20;
	const SVG_NS = 'http://www.w3.org/2000/svg';
	const COUNT_KINDS = ['total', 'green', 'orange', 'red', 'stale', 'unreachable', 'unknown'];
	const POD_STATES = ['running', 'creating', 'waiting-image', 'config-error', 'crash-loop',
		'oom-killed', 'unschedulable', 'pending'];
	const POD_BAD = new Set(['waiting-image', 'config-error', 'crash-loop', 'oom-killed',
		'unschedulable']);
	// What the markers and the site card read of each site (name always comes).
	const SITE_FIELDS = 'state,view,band,labels,score,components,cpu_pct,mem_pct,disk_pct,age_s,' +
		'lat,lon';
	const INTENT_STATES = ['ready', 'applying', 'waiting', 'pending', 'degraded', 'failed',
		'unreachable', 'stale'];

	const state = {
		selector: '',        // the selector the page shows (as typed, last accepted)
		wanted: null,        // a selector submitted, not yet answered
		timer: null,         // the next refresh
		busy: false,         // a refresh is running
		again: false,        // run another as soon as this one ends
		okCount: 0,          // successful refreshes
		failingSince: null,  // first failure of the current run of failures
		markers: new Map(),  // site name -> circle
		sites: new Map(),    // site name -> its /v1/fleet/sites entry
		picked: null,        // name of the site whose card is pinned
	};

	const $ = (id) => document.getElementById(id);

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}

	function svgEl(tag, attrs) {
		const e = document.createElementNS(SVG_NS, tag);
		for (const k in attrs) e.setAttribute(k, String(attrs[k]));
		return e;
	}

	function clear(node) {
		while (node.firstChild) node.removeChild(node.firstChild);
	}

	function num(v, digits) {
		if (typeof v !== 'number' || !isFinite(v)) return '-';
		return digits === undefined ? String(v) : v.toFixed(digits);
	}

	function clock(d) {
		const p = (n) => String(n).padStart(2, '0');
		return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
	}

	/* Integers past 2^53 (intent versions are 64-bit) keep their exact text. */
	function exactInts(key, value, ctx) {
		if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value) &&
		    ctx && typeof ctx.source === 'string')
			return ctx.source;
		return value;
	}

	async function getJSON(path, reviver) {
		let r, text;
		try {
			r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' },
				signal: AbortSignal.timeout(TIMEOUT_MS) });
			text = await r.text();
		} catch (e) {
			const why = e && e.name === 'TimeoutError' ? `no answer in ${TIMEOUT_MS / 1000} s` :
				e && e.message ? e.message : String(e);
			throw new Error(`node not answering: ${why}`);
		}
		let body = null;
		try {
			body = JSON.parse(text, reviver);
		} catch (e) {
			body = null;
		}
		return { status: r.status, body };
	}

	function reasonOf(res) {
		if (res.body && typeof res.body.reason === 'string') return res.body.reason;
		return `HTTP ${res.status}`;
	}

	/* ---- map ---------------------------------------------------------- */

	// Layers bottom to top; a marker moves layer only when its severity does.
	const LAYERS = ['green', 'orange', 'unknown', 'stale', 'red', 'unreachable'];
	const layers = new Map();

	function layerOf(view, band) {
		if (view === 'fresh') return band === 'red' ? 'red' : band === 'orange' ? 'orange' : 'green';
		return LAYERS.includes(view) ? view : 'unknown';
	}

	function drawGraticule() {
		const g = $('graticule');
		for (let lon = -180; lon <= 180; lon += 30) {
			g.appendChild(svgEl('line', { x1: lon, y1: -90, x2: lon, y2: 90,
				class: lon === 0 ? 'major' : '' }));
			if (lon > -180 && lon < 180)
				g.appendChild(svgEl('text', { x: lon + 1, y: 88 })).textContent = `${lon}°`;
		}
		for (let lat = -60; lat <= 60; lat += 30) {
			g.appendChild(svgEl('line', { x1: -180, y1: -lat, x2: 180, y2: -lat,
				class: lat === 0 ? 'major' : '' }));
			g.appendChild(svgEl('text', { x: -178, y: -lat - 1 })).textContent = `${lat}°`;
		}
		const m = $('markers');
		for (const name of LAYERS) {
			const layer = svgEl('g', { 'data-layer': name });
			layers.set(name, layer);
			m.appendChild(layer);
		}
	}

	function placed(s) {
		return typeof s.lat === 'number' && typeof s.lon === 'number' && isFinite(s.lat) &&
			isFinite(s.lon) && Math.abs(s.lat) <= 90 && Math.abs(s.lon) <= 180;
	}

	function setAttr(e, k, v) {
		v = String(v);
		if (e.getAttribute(k) !== v) e.setAttribute(k, v);
	}

	function renderMarkers(sites) {
		const seen = new Set();
		const unplaced = [];
		const r = sites.length > 2000 ? 1.1 : sites.length > 200 ? 1.6 : 2.4;
		state.sites = new Map();
		for (const s of sites) {
			if (!s || typeof s.name !== 'string') continue;
			state.sites.set(s.name, s);
			const view = typeof s.view === 'string' ? s.view : 'unknown';
			const band = view === 'fresh' && typeof s.band === 'string' ? s.band : 'none';
			if (!placed(s)) {
				unplaced.push(s);
				continue;
			}
			seen.add(s.name);
			let c = state.markers.get(s.name);
			if (!c) {
				c = svgEl('circle', { 'data-site': s.name });
				state.markers.set(s.name, c);
			}
			setAttr(c, 'cx', s.lon);
			setAttr(c, 'cy', -s.lat);
			setAttr(c, 'r', r);
			setAttr(c, 'data-view', view);
			setAttr(c, 'data-band', band);
			const layer = layers.get(layerOf(view, band));
			if (c.parentNode !== layer) layer.appendChild(c);
		}
		for (const [name, c] of state.markers) {
			if (!seen.has(name)) {
				c.remove();
				state.markers.delete(name);
			}
		}
		renderUnplaced(unplaced);
		if (state.picked && !state.sites.has(state.picked)) hideCard();
		else if (state.picked) showCard(state.picked, null);
	}

	function renderUnplaced(list) {
		const rank = (s) => LAYERS.length - LAYERS.indexOf(layerOf(s.view, s.band));
		list.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		$('unplaced-count').textContent = String(list.length);
		const ul = $('unplaced-list');
		clear(ul);
		for (const s of list.slice(0, UNPLACED_MAX)) {
			const li = el('li');
			const dot = el('span', 'dot');
			const view = typeof s.view === 'string' ? s.view : 'unknown';
			dot.dataset.view = view;
			dot.dataset.band = view === 'fresh' && s.band ? s.band : 'none';
			li.dataset.site = s.name;
			li.dataset.view = dot.dataset.view;
			li.dataset.band = dot.dataset.band;
			li.appendChild(dot);
			li.appendChild(el('span', null, s.name));
			ul.appendChild(li);
		}
		const more = $('unplaced-more');
		more.hidden = list.length <= UNPLACED_MAX;
		more.textContent = `and ${list.length - UNPLACED_MAX} more`;
	}

	/* The card under the pointer (or pinned by a click) for one site. */
	function showCard(name, at) {
		const s = state.sites.get(name);
		const card = $('site-card');
		if (!s) return hideCard();
		clear(card);
		card.appendChild(el('div', 'title', s.name));
		const dl = el('dl');
		const row = (k, v) => {
			dl.appendChild(el('dt', null, k));
			dl.appendChild(el('dd', null, v));
		};
		row('state', s.state || '-');
		row('view', s.view || '-');
		row('score', s.score === null || s.score === undefined ? '-' :
			`${s.score} (${s.band || '-'})`);
		if (s.components)
			row('components', ['connectivity', 'reliability', 'security', 'performance']
				.map((k) => `${k.slice(0, 4)} ${num(s.components[k])}`).join(', '));
		row('cpu / mem / disk', `${num(s.cpu_pct, 1)} / ${num(s.mem_pct, 1)} / ${num(s.disk_pct, 1)} %`);
		if (typeof s.age_s === 'number') row('record age', `${s.age_s} s`);
		if (placed(s)) row('lat, lon', `${s.lat}, ${s.lon}`);
		if (s.labels && typeof s.labels === 'object') {
			const keys = Object.keys(s.labels).filter((k) => !k.startsWith('sys.shoal.io/')).sort();
			if (keys.length) row('labels', keys.map((k) => `${k}=${s.labels[k]}`).join(', '));
		}
		card.appendChild(dl);
		card.hidden = false;
		if (at) {
			const box = $('map-box').getBoundingClientRect();
			const x = Math.min(at.x - box.left + 12, Math.max(0, box.width - 300));
			card.style.left = `${Math.max(0, x)}px`;
			card.style.top = `${Math.max(0, at.y - box.top + 12)}px`;
		}
		for (const c of $('markers').querySelectorAll('circle.picked')) c.classList.remove('picked');
		const c = state.markers.get(name);
		if (c && state.picked === name) c.classList.add('picked');
	}

	function hideCard() {
		state.picked = null;
		$('site-card').hidden = true;
		for (const c of $('markers').querySelectorAll('circle.picked')) c.classList.remove('picked');
	}

	function wireMap() {
		const m = $('markers');
		m.addEventListener('mouseover', (ev) => {
			const name = ev.target.getAttribute && ev.target.getAttribute('data-site');
			if (name && !state.picked) showCard(name, { x: ev.clientX, y: ev.clientY });
		});
		m.addEventListener('mouseout', () => {
			if (!state.picked) $('site-card').hidden = true;
		});
		$('map').addEventListener('click', (ev) => {
			const name = ev.target.getAttribute && ev.target.getAttribute('data-site');
			if (!name || state.picked === name) return hideCard();
			state.picked = name;
			showCard(name, { x: ev.clientX, y: ev.clientY });
		});
	}

	/* ---- panels ------------------------------------------------------- */

	function renderCounts(sites) {
		const total = sites && typeof sites.total === 'number' ? sites.total : 0;
		const bar = $('band-bar');
		clear(bar);
		for (const k of COUNT_KINDS) {
			const n = sites && typeof sites[k] === 'number' ? sites[k] : 0;
			$(`count-${k}`).textContent = String(n);
			if (k !== 'total' && n > 0 && total > 0) {
				const part = el('span');
				part.dataset.kind = k;
				part.style.width = `${(100 * n) / total}%`;
				part.title = `${k}: ${n}`;
				bar.appendChild(part);
			}
		}
	}

	function histogram(id, dist) {
		const svg = $(`${id}-hist`);
		const h = dist && Array.isArray(dist.histogram) ? dist.histogram : [];
		const stats = $(`${id}-stats`);
		stats.textContent = dist && typeof dist.p50 === 'number' ?
			`p50 ${num(dist.p50, 1)} %, p90 ${num(dist.p90, 1)} %, max ${num(dist.max, 1)} %, mean ${num(dist.mean, 1)} %` :
			'no fresh sites';
		if (!svg.firstChild) {
			svg.appendChild(svgEl('line', { class: 'axis', x1: 0, y1: 100, x2: 300, y2: 100 }));
			for (let i = 0; i < 10; i++) {
				svg.appendChild(svgEl('rect', { class: 'bar', x: i * 30 + 3, width: 24, y: 100, height: 0 }));
				svg.appendChild(svgEl('text', { class: 'count', x: i * 30 + 15, y: 96 }));
				svg.appendChild(svgEl('text', { x: i * 30 + 15, y: 112 })).textContent = `${i * 10}`;
			}
		}
		const max = Math.max(1, ...h.map((v) => (typeof v === 'number' ? v : 0)));
		const bars = svg.querySelectorAll('rect.bar');
		const counts = svg.querySelectorAll('text.count');
		for (let i = 0; i < 10; i++) {
			const v = typeof h[i] === 'number' ? h[i] : 0;
			const height = (84 * v) / max;
			setAttr(bars[i], 'y', 100 - height);
			setAttr(bars[i], 'height', height);
			bars[i].dataset.count = String(v);
			setAttr(counts[i], 'y', 96 - height);
			counts[i].textContent = v > 0 ? String(v) : '';
		}
	}

	function renderCountList(dl, entries, badSet) {
		clear(dl);
		for (const [k, v] of entries) {
			const dt = el('dt', null, k);
			const dd = el('dd', null, v);
			dd.dataset.key = k;
			if (badSet && badSet.has(k) && v > 0) dd.className = 'bad';
			dl.appendChild(dt);
			dl.appendChild(dd);
		}
	}

	function renderPods(pods) {
		pods = pods && typeof pods === 'object' ? pods : {};
		const keys = POD_STATES.concat(Object.keys(pods).filter((k) => !POD_STATES.includes(k)));
		renderCountList($('pods'), keys.map((k) => [k, typeof pods[k] === 'number' ? pods[k] : 0]),
			POD_BAD);
	}

	function progress(kind, n, of) {
		const p = el('div', `progress ${kind}`);
		const fill = el('div', 'fill');
		fill.style.width = `${of > 0 ? Math.min(100, (100 * n) / of) : 0}%`;
		p.appendChild(fill);
		p.appendChild(el('span', 'label', `${n}/${of}`));
		p.dataset.n = String(n);
		p.dataset.of = String(of);
		return p;
	}

	function renderIntents(intents) {
		intents = Array.isArray(intents) ? intents : [];
		const tbody = $('intents').tBodies[0];
		clear(tbody);
		$('intents-none').hidden = intents.length > 0;
		$('intents').hidden = intents.length === 0;
		for (const it of intents) {
			const tr = el('tr');
			tr.dataset.intent = `${it.kind}/${it.name}`;
			const st = it.states && typeof it.states === 'object' ? it.states : {};
			const sel = typeof it.selected === 'number' ? it.selected : 0;
			tr.appendChild(el('td', null, `${it.kind}/${it.name}`));
			tr.appendChild(el('td', 'version', it.version));
			tr.appendChild(el('td', 'num', sel));
			const ready = el('td');
			ready.appendChild(progress('ready', typeof st.ready === 'number' ? st.ready : 0, sel));
			tr.appendChild(ready);
			const repl = el('td');
			repl.appendChild(progress('replicated', typeof it.replicated === 'number' ? it.replicated : 0, sel));
			tr.appendChild(repl);
			const chips = el('td');
			const keys = INTENT_STATES.concat(Object.keys(st).filter((k) => !INTENT_STATES.includes(k)));
			for (const k of keys) {
				if (typeof st[k] !== 'number' || st[k] === 0) continue;
				const chip = el('span', 'chip', `${k} ${st[k]}`);
				chip.dataset.state = k;
				chips.appendChild(chip);
			}
			tr.appendChild(chips);
			tbody.appendChild(tr);
		}
	}

	function renderWorstSites(worst) {
		const tbody = $('worst-sites').tBodies[0];
		clear(tbody);
		for (const w of Array.isArray(worst) ? worst : []) {
			const tr = el('tr');
			tr.dataset.site = w.name;
			const name = el('td');
			const dot = el('span', 'dot');
			dot.dataset.view = w.view || 'unknown';
			dot.dataset.band = w.view === 'fresh' && w.band ? w.band : 'none';
			name.appendChild(dot);
			name.appendChild(document.createTextNode(` ${w.name}`));
			tr.appendChild(name);
			tr.appendChild(el('td', null, w.view));
			for (const k of ['score', 'connectivity', 'reliability', 'security', 'performance'])
				tr.appendChild(el('td', 'num', num(w[k])));
			tbody.appendChild(tr);
		}
	}

	function ms(us) {
		return typeof us === 'number' ? `${(us / 1000).toFixed(us < 10000 ? 2 : 0)} ms` : '-';
	}

	function renderLinks(links) {
		links = links && typeof links === 'object' ? links : {};
		$('links-summary').textContent = typeof links.reporting === 'number' ?
			`${links.reporting} reporting, rtt p50 ${ms(links.rtt_p50_us)}, p99 ${ms(links.rtt_p99_us)}, loss ${num(links.loss_pm)} ‰` : '';
		const tbody = $('worst-links').tBodies[0];
		clear(tbody);
		for (const w of Array.isArray(links.worst) ? links.worst : []) {
			const tr = el('tr');
			tr.dataset.site = w.name;
			tr.appendChild(el('td', null, w.name));
			tr.appendChild(el('td', 'num', num(w.loss_pm)));
			tr.appendChild(el('td', 'num', ms(w.rtt_p99_us)));
			tr.appendChild(el('td', 'num', `${num(w.reached)}/${num(w.probed)}`));
			tbody.appendChild(tr);
		}
	}

	function renderPolicy(policy) {
		policy = policy && typeof policy === 'object' ? policy : {};
		const entries = Object.entries(policy).filter(([, v]) => typeof v === 'number')
			.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
		const shown = entries.slice(0, POLICY_MAX);
		if (entries.length > POLICY_MAX)
			shown.push([`${entries.length - POLICY_MAX} more rules`,
				entries.slice(POLICY_MAX).reduce((s, e) => s + e[1], 0)]);
		renderCountList($('policy'), shown, null);
		$('policy-none').hidden = entries.length > 0;
	}

	/* Per-site rules name the sites whose records list them; fleet-wide rules
	 * say how many of the sites they judge match. */
	function renderAlerts(alerts) {
		alerts = Array.isArray(alerts) ? alerts : [];
		const ul = $('alerts');
		clear(ul);
		$('alerts-none').hidden = alerts.length > 0;
		for (const a of alerts) {
			const li = el('li');
			const sites = Array.isArray(a.sites) ? a.sites : [];
			li.dataset.alert = a.name;
			li.dataset.scope = a.scope === 'fleet' ? 'fleet' : 'site';
			li.dataset.sites = String(sites.length);
			li.appendChild(el('span', 'name', a.name));
			let text;
			if (a.scope === 'fleet')
				text = ` (fleet): ${num(a.count)} of ${num(a.total)} sites`;
			else
				text = `: ${sites.length} site${sites.length === 1 ? '' : 's'}`;
			if (sites.length)
				text += ` (${sites.slice(0, ALERT_SITES_MAX).join(', ')}${sites.length > ALERT_SITES_MAX ? ', …' : ''})`;
			li.appendChild(document.createTextNode(text));
			ul.appendChild(li);
		}
	}

	function renderFleet(f) {
		renderCounts(f.sites);
		histogram('cpu', f.cpu);
		histogram('memory', f.memory);
		histogram('disk', f.disk);
		renderPods(f.pods);
		renderIntents(f.intents);
		renderWorstSites(f.worst);
		renderLinks(f.links);
		renderPolicy(f.policy);
		renderAlerts(f.alerts);
		const shown = $('selector-shown');
		shown.textContent = f.selector ? `matching ${f.selector}` : 'all';
		document.body.dataset.selector = typeof f.selector === 'string' ? f.selector : '';
	}

	/* ---- refresh ------------------------------------------------------ */

	function query(sel) {
		return sel ? `?selector=${encodeURIComponent(sel)}` : '';
	}

	function markOk() {
		const now = new Date();
		state.okCount++;
		state.failingSince = null;
		document.body.classList.remove('failing');
		document.body.dataset.refreshes = String(state.okCount);
		const status = $('status');
		status.dataset.state = 'ok';
		$('status-text').textContent = 'live';
		const t = $('last-refresh');
		t.textContent = clock(now);
		t.dateTime = now.toISOString();
	}

	function markFailed(why) {
		if (!state.failingSince) state.failingSince = new Date();
		document.body.classList.add('failing');
		$('status').dataset.state = 'error';
		$('status-text').textContent = `failing since ${clock(state.failingSince)}: ${why}`;
	}

	function showSelectorError(text) {
		const e = $('selector-error');
		e.textContent = text || '';
		e.hidden = !text;
	}

	async function refresh() {
		const submitted = state.wanted; // a selector from the filter, or null
		const trying = submitted !== null ? submitted : state.selector;
		const q = query(trying);
		try {
			const [fleet, sites] = await Promise.all([
				getJSON(`/v1/fleet${q}`, exactInts),
				getJSON(`/v1/fleet/sites${q}${q ? '&' : '?'}fields=${SITE_FIELDS}`)]);
			// Another selector was submitted meanwhile: this answer is for
			// the old one, and the next refresh starts at once.
			if (state.wanted !== submitted) return;
			const bad = [fleet, sites].find((r) => r.status === 400);
			if (bad) {
				// The node answered: the selector is wrong. The page goes on
				// showing the last one accepted; the input keeps the text.
				state.wanted = null;
				showSelectorError(reasonOf(bad));
				return;
			}
			const failed = [fleet, sites].find((r) => r.status !== 200 || !r.body);
			if (failed) throw new Error(`node answered HTTP ${failed.status}: ${reasonOf(failed)}`);
			if (submitted !== null) {
				state.selector = submitted;
				state.wanted = null;
				showSelectorError('');
				const url = new URL(location.href);
				if (state.selector) url.searchParams.set('selector', state.selector);
				else url.searchParams.delete('selector');
				history.replaceState(null, '', url);
			}
			renderFleet(fleet.body);
			renderMarkers(Array.isArray(sites.body.sites) ? sites.body.sites : []);
			if (!$('node-name').textContent) nodeName();
			markOk();
		} catch (e) {
			markFailed(e && e.message ? e.message : String(e));
		}
	}

	async function tick() {
		state.timer = null;
		if (state.busy) {
			state.again = true;
			return;
		}
		state.busy = true;
		const t0 = performance.now();
		try {
			await refresh();
		} finally {
			state.busy = false;
			const wait = state.again ? 0 : Math.max(0, REFRESH_MS - (performance.now() - t0));
			state.again = false;
			state.timer = setTimeout(tick, wait);
		}
	}

	function refreshNow() {
		if (state.timer !== null) clearTimeout(state.timer);
		state.timer = null;
		tick();
	}

	async function nodeName() {
		try {
			const r = await getJSON('/healthz');
			if (r.status === 200 && r.body && typeof r.body.name === 'string') {
				$('node-name').textContent = `served by ${r.body.name}`;
				document.title = `Shoal fleet · ${r.body.name}`;
			}
		} catch (e) {
			// The refresh loop reports a node that does not answer.
		}
	}

	function start() {
		drawGraticule();
		wireMap();
		const initial = new URL(location.href).searchParams.get('selector') || '';
		const input = $('selector');
		input.value = initial;
		state.wanted = initial || null;
		$('filter').addEventListener('submit', (ev) => {
			ev.preventDefault();
			state.wanted = input.value.trim();
			refreshNow();
		});
		$('clear').addEventListener('click', () => {
			input.value = '';
			state.wanted = '';
			refreshNow();
		});
		refreshNow();
	}

	document.addEventListener('DOMContentLoaded', start);
})();
