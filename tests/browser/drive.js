/*
 * drive.js - headless Chromium for the dashboard test, as a line protocol.
 *
 *   node tests/browser/drive.js --chromium /usr/bin/chromium
 *
 * Reads one JSON command per line on stdin and answers one JSON line on
 * stdout ({"ok": true, ...} or {"ok": false, "error": "..."}), so the
 * Python test keeps the scenario (start nodes, kill one, ask the API) and
 * this file only does what needs a browser:
 *
 *   {"cmd": "open", "url": U}          load the page (waits for "load")
 *   {"cmd": "snapshot"}                what the page shows, read from the DOM
 *   {"cmd": "filter", "selector": S}   type S into the filter and submit it
 *   {"cmd": "log"}                     console messages, page errors, requests
 *   {"cmd": "screenshot", "path": P}   full-page PNG
 *   {"cmd": "close"}                   close the browser and exit
 *
 * The browser is Debian's chromium driven through playwright-core (no
 * browser download); --no-sandbox because tests may run as root.
 */
'use strict';

const path = require('path');
const readline = require('readline');
const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));

function arg(name, fallback) {
	const i = process.argv.indexOf(name);
	return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const log = { console: [], pageerrors: [], requests: [], failed: [] };
let browser = null;
let page = null;

/* Everything the test compares, read from ids and data- attributes. */
function readPage() {
	const $ = (id) => document.getElementById(id);
	const counts = {};
	for (const k of ['total', 'green', 'orange', 'red', 'stale', 'unreachable', 'unknown'])
		counts[k] = Number($(`count-${k}`).textContent);
	const markers = [];
	for (const c of document.querySelectorAll('#markers circle'))
		markers.push({
			site: c.getAttribute('data-site'),
			view: c.getAttribute('data-view'),
			band: c.getAttribute('data-band'),
			x: Number(c.getAttribute('cx')),
			y: Number(c.getAttribute('cy')),
			r: Number(c.getAttribute('r')),
			fill: getComputedStyle(c).fill,
		});
	const unplaced = [];
	for (const li of document.querySelectorAll('#unplaced-list li'))
		unplaced.push({ site: li.dataset.site, view: li.dataset.view, band: li.dataset.band });
	const hist = (id) => Array.from(document.querySelectorAll(`#${id}-hist rect.bar`),
		(r) => Number(r.dataset.count));
	const intents = Array.from(document.querySelectorAll('#intents tbody tr'), (tr) => {
		const bars = tr.querySelectorAll('.progress');
		return {
			intent: tr.dataset.intent,
			ready: bars[0] ? [Number(bars[0].dataset.n), Number(bars[0].dataset.of)] : null,
			replicated: bars[1] ? [Number(bars[1].dataset.n), Number(bars[1].dataset.of)] : null,
		};
	});
	const err = $('selector-error');
	return {
		refreshes: Number(document.body.dataset.refreshes || 0),
		status: $('status').dataset.state,
		status_text: $('status-text').textContent,
		last_refresh: $('last-refresh').textContent,
		selector: document.body.dataset.selector === undefined ? null : document.body.dataset.selector,
		selector_error: err.hidden ? null : err.textContent,
		location: location.href,
		counts,
		markers,
		unplaced,
		cpu: hist('cpu'),
		memory: hist('memory'),
		pods: Object.fromEntries(Array.from(document.querySelectorAll('#pods dd'),
			(dd) => [dd.dataset.key, Number(dd.textContent)])),
		intents,
		worst: Array.from(document.querySelectorAll('#worst-sites tbody tr'), (tr) => tr.dataset.site),
		alerts: Array.from(document.querySelectorAll('#alerts li'), (li) => ({
			name: li.dataset.alert, scope: li.dataset.scope, sites: Number(li.dataset.sites) })),
	};
}

async function run(cmd) {
	switch (cmd.cmd) {
	case 'open': {
		if (!browser)
			browser = await chromium.launch({
				executablePath: arg('--chromium', '/usr/bin/chromium'),
				args: ['--no-sandbox'],
			});
		page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
		page.on('console', (m) => log.console.push({ type: m.type(), text: m.text() }));
		page.on('pageerror', (e) => log.pageerrors.push(String(e && e.stack ? e.stack : e)));
		page.on('request', (r) => log.requests.push(r.url()));
		page.on('requestfailed', (r) => log.failed.push({ url: r.url(),
			error: r.failure() ? r.failure().errorText : '' }));
		const resp = await page.goto(cmd.url, { waitUntil: 'load', timeout: 20000 });
		return { status: resp ? resp.status() : 0 };
	}
	case 'snapshot':
		return { page: await page.evaluate(readPage) };
	case 'filter':
		await page.fill('#selector', cmd.selector);
		await page.click('#filter button[type=submit]');
		return {};
	case 'log':
		return { log };
	case 'screenshot':
		await page.screenshot({ path: cmd.path, fullPage: true });
		return {};
	case 'close':
		if (browser) await browser.close();
		browser = null;
		return {};
	default:
		throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
	}
}

async function main() {
	const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
	for await (const line of lines) {
		if (!line.trim()) continue;
		let reply;
		let cmd = {};
		try {
			cmd = JSON.parse(line);
			reply = Object.assign({ ok: true }, await run(cmd));
		} catch (e) {
			reply = { ok: false, error: String(e && e.message ? e.message : e) };
		}
		process.stdout.write(`${JSON.stringify(reply)}\n`);
		if (cmd.cmd === 'close') break;
	}
	if (browser) await browser.close();
}

main().catch((e) => {
	process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
	process.exit(1);
});
