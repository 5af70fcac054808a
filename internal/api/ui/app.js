// dnslb status page: polls GET /v1/status once a second for the names of
// the visible page only, and redraws them. No library, no network access
// beyond this server.
"use strict";
(function () {
  const POLL_MS = 1000;
  const TOKEN_KEY = "dnslb-token";
  const $ = (id) => document.getElementById(id);
  // #q=NAME in the address opens the page on a search (a link to a pool).
  const state = { q: new URLSearchParams(location.hash.slice(1)).get("q") || "", page: 1, skew: 0, timer: null, data: null, updates: 0 };

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const pct = (f) => (f == null ? "–" : (100 * f).toFixed(1) + "%");
  const now = () => Date.now() + state.skew;

  // parseDur reads Go duration text ("1m30.5s", "250ms") into seconds.
  function parseDur(s) {
    if (!s) return 0;
    let total = 0;
    for (const m of String(s).matchAll(/([\d.]+)(h|ms|m|s|µs|us|ns)/g)) {
      total += parseFloat(m[1]) * { h: 3600, m: 60, s: 1, ms: 1e-3, "µs": 1e-6, us: 1e-6, ns: 1e-9 }[m[2]];
    }
    return total;
  }

  function span(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 90) return sec + " s";
    if (sec < 5400) return Math.round(sec / 60) + " min";
    return (sec / 3600).toFixed(1) + " h";
  }

  function ago(iso) {
    if (!iso) return "never";
    const d = (now() - Date.parse(iso)) / 1000;
    return d < 1 ? "just now" : span(d) + " ago";
  }

  function headers() {
    const t = sessionStorage.getItem(TOKEN_KEY);
    return t ? { Authorization: "Bearer " + t } : {};
  }

  async function poll() {
    clearTimeout(state.timer);
    const url = "/v1/status?" + new URLSearchParams({ q: state.q, page: String(state.page) });
    try {
      const resp = await fetch(url, { headers: headers(), cache: "no-store" });
      if (resp.status === 401) {
        showLogin(true);
        return; // polling resumes once a token is given
      }
      const body = await resp.json();
      if (!resp.ok) throw new Error(body.error ? body.error.message : resp.statusText);
      showLogin(false);
      $("error").hidden = true;
      state.skew = Date.parse(body.now) - Date.now();
      state.data = body;
      render(body);
    } catch (e) {
      $("error").textContent = "Cannot read the status: " + e.message + " (retrying)";
      $("error").hidden = false;
    }
    state.timer = setTimeout(poll, POLL_MS);
  }

  function showLogin(show) {
    $("login").hidden = !show;
    if (show) {
      $("meta").textContent = "A token is needed.";
      $("token").focus();
    }
  }

  function render(d) {
    state.updates++;
    const main = $("names");
    main.dataset.revision = d.revision;
    main.dataset.updates = state.updates;
    $("meta").textContent = `${d.total} name${d.total === 1 ? "" : "s"} · revision ${d.revision} · updated ${new Date(Date.parse(d.now)).toLocaleTimeString()}`;
    const b = d.brake;
    $("brake").hidden = !(b && (b.state === "holding" || b.state === "letting-go"));
    if (!$("brake").hidden) $("brake").textContent = `Mass-expiry brake ${b.state}: ${b.held} lapsed set(s) kept in answers. ${b.reason || ""}`;
    main.innerHTML = d.names.length ? zones(d.names) : "<p>No names match.</p>";
    $("pager").hidden = d.pages <= 1;
    $("pageinfo").textContent = `Page ${d.page} of ${d.pages}`;
    $("prev").disabled = d.page <= 1;
    $("next").disabled = d.page >= d.pages;
    tick();
  }

  // zones groups the names of the page under their zones, in order.
  function zones(names) {
    let html = "", zone = null;
    for (const n of names) {
      if (n.zone !== zone) {
        html += (zone === null ? "" : "</section>") + `<section class="zone"><h2>Zone ${esc(n.zone)}</h2>`;
        zone = n.zone;
      }
      html += card(n);
    }
    return html + "</section>";
  }

  function card(n) {
    const id = "n-" + (n.name + n.type).replace(/[^a-z0-9]/gi, "-");
    const alert = n.alert ? `<p class="alert" role="alert">${esc(n.alert)}</p>` : "";
    return `<section class="card" aria-labelledby="${id}">
<h3 id="${id}">${esc(n.name)} ${esc(n.type)}</h3>${alert}
<p class="sub">Policy ${esc(n.policy)} · answering from: ${esc(n.tier)}</p>
<table><thead><tr><th scope="col">Set</th><th scope="col">Values</th><th scope="col">Weight</th><th scope="col">Share now</th><th scope="col">Observed (1 min)</th><th scope="col">Health</th><th scope="col">Lease</th><th scope="col">State</th><th scope="col">Last served</th></tr></thead>
<tbody>${n.sets.map(row).join("")}</tbody></table>${chart(n)}</section>`;
  }

  function row(s) {
    const healthWord = String(s.health).split(" ")[0];
    let health = `<span class="st-${esc(healthWord)}">${esc(s.health)}</span>`;
    if (s.health_since) health += ` <span class="why">since ${esc(ago(s.health_since))}</span>`;
    if (s.health_error) health += `<span class="why">last error: ${esc(s.health_error)}</span>`;
    let lease = "none";
    if (s.lease) {
      const left = parseDur(s.lease_remaining);
      lease = left > 0 ? `<span class="countdown" data-until="${new Date(now() + left * 1000).toISOString()}">${span(left)}</span> left of ${span(parseDur(s.lease))}` : `lapsed (lease ${span(parseDur(s.lease))})`;
    }
    return `<tr data-set="${esc(s.set_id)}"><th scope="row" data-label="Set">${esc(s.set_id || "(simple)")}</th>
<td data-label="Values">${esc((s.values || []).join(" "))}</td>
<td class="num" data-label="Weight">${s.weight}${s.weight === 0 ? " (standby)" : ""}</td>
<td class="num" data-label="Share now">${pct(s.share)}${s.fail_open ? " (failing open)" : ""}</td>
<td class="num" data-label="Observed (1 min)">${pct(s.observed_share)} <span class="why">${s.served_last_minute} answers</span></td>
<td data-label="Health">${health}</td>
<td data-label="Lease">${lease}</td>
<td data-label="State">${stateText(s)}</td>
<td data-label="Last served">${esc(ago(s.last_served))}</td></tr>`;
  }

  function stateText(s) {
    if (s.state === "draining" && s.safe_at) {
      return `<span class="st-draining">draining</span> <span class="why">safe in <span class="countdown" data-until="${esc(s.safe_at)}" data-done="now safe to remove"></span></span>`;
    }
    if (s.braked) {
      return `<span class="st-braked">braked</span> <span class="why">lease lapsed; the brake keeps it in answers until ${esc(new Date(Date.parse(s.braked_until)).toLocaleTimeString())}</span>`;
    }
    if (s.state === "expired") return `<span class="st-expired">expired</span> <span class="why">lease lapsed; out of answers</span>`;
    return `<span class="st-${esc(s.state)}">${esc(s.state)}</span>${s.eligible ? "" : ' <span class="why">not eligible</span>'}`;
  }

  // chart draws the observed share of each set over the last hour (one
  // line per set, told apart by dash pattern and a label, not colour only)
  // and the name's transitions as marks along the bottom.
  function chart(n) {
    const c = n.chart;
    if (!c) return "";
    // The chart spans the last hour, or less while the server has less.
    const W = 600, H = 120, P = 4, end = now();
    const first = Math.min(...[(c.times || [])[0], (c.events || [])[0] && c.events[0].at].filter(Boolean).map(Date.parse), end);
    const start = Math.max(end - 3600e3, Math.min(first, end - 10e3)), width = end - start;
    const x = (t) => P + ((Date.parse(t) - start) / width) * (W - 2 * P);
    const y = (v) => H - 22 - v * (H - 30);
    const dashes = ["", "6 3", "2 3", "10 3 2 3", "1 2"];
    let lines = "", legend = [], i = 0;
    for (const [id, series] of Object.entries(c.shares || {})) {
      const pts = [];
      series.forEach((v, j) => { if (v != null) pts.push(`${x(c.times[j]).toFixed(1)},${y(v).toFixed(1)}`); });
      const dash = dashes[i % dashes.length];
      if (pts.length) lines += `<polyline points="${pts.join(" ")}" fill="none" stroke="hsl(${(i * 67) % 360} 60% 35%)" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}><title>${esc(id)}</title></polyline>`;
      legend.push(`${esc(id)} ${dash ? "(" + ["solid", "dashed", "dotted", "dash-dot", "fine dots"][i % 5] + ")" : "(solid)"}`);
      i++;
    }
    let marks = "";
    for (const e of c.events || []) {
      const ex = x(e.at);
      if (ex < P) continue;
      const sym = { "health-down": "↓", "health-up": "↑", "drain-started": "D", "drain-completed": "d", "lease-lapsed": "L", registered: "+", deleted: "−", expired: "×", updated: "w", forced: "F" }[e.event] || "•";
      marks += `<g><title>${esc(e.rrset.set_id)}: ${esc(e.event)} ${esc(e.detail || "")} ${esc(ago(e.at))}</title><line x1="${ex}" x2="${ex}" y1="${H - 22}" y2="${H - 14}" stroke="#000"/><text x="${ex}" y="${H - 3}" font-size="11" text-anchor="middle">${sym}</text></g>`;
    }
    const points = (c.times || []).length;
    return `<figure><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Observed share of each set over the last hour, ${points} points, and ${(c.events || []).length} transitions">
<line x1="${P}" x2="${W - P}" y1="${y(0)}" y2="${y(0)}" stroke="#999"/><line x1="${P}" x2="${W - P}" y1="${y(1)}" y2="${y(1)}" stroke="#ddd"/>
<text x="${W - P}" y="${y(1) + 10}" font-size="10" text-anchor="end">100%</text>${lines}${marks}</svg>
<figcaption>Observed share, last ${span(width / 1000)}${points ? "" : " (no point yet)"}: ${legend.join(", ") || "no sets answered"}. Marks: ↓ down, ↑ up, D drain started, d drained, L lease lapsed, + registered, w changed, × expired.</figcaption></figure>`;
  }

  // tick updates the countdowns every second, between polls.
  function tick() {
    for (const el of document.querySelectorAll(".countdown")) {
      const left = (Date.parse(el.dataset.until) - now()) / 1000;
      el.textContent = left > 0 ? span(left) : el.dataset.done || "0 s";
    }
  }
  setInterval(tick, 1000);

  $("search").addEventListener("submit", (e) => e.preventDefault());
  $("q").addEventListener("input", () => { state.q = $("q").value.trim(); state.page = 1; poll(); });
  $("prev").addEventListener("click", () => { state.page--; poll(); });
  $("next").addEventListener("click", () => { state.page++; poll(); });
  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    poll();
  });
  $("q").value = state.q;
  poll();
})();
