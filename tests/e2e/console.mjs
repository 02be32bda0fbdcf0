// The operator console in headless Chromium (tests/e2e/console.rs runs this and reads its
// stdout). Debian's chromium, driven over the DevTools protocol by playwright-core (pinned in
// package.json). Every step asserts what the operator would see; any failure exits non-zero.
//
// Environment: CONSOLE_URL, CONSOLE_TOKEN, CONSOLE_V1 (the older version), CONSOLE_V2 (the
// current one), CONSOLE_SCREENSHOTS (a directory for the PNGs), CONSOLE_PROFILE (a fresh
// --user-data-dir). Prints FORCED-DOWN once a check is forced down and waits for a line on
// stdin (the Rust test asks over DoH meanwhile), BLOCK likewise before the Firewall view (the
// test asks a blocked name), EDIT and PUBLISHED around the zone editor's publish (the test
// asks the name edited before and after), and DONE at the end.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run through tests/e2e/console.rs)`);
  return value;
};
const base = env("CONSOLE_URL");
const token = env("CONSOLE_TOKEN");
const v1 = env("CONSOLE_V1");
const v2 = env("CONSOLE_V2");
const shots = env("CONSOLE_SCREENSHOTS");
const profile = env("CONSOLE_PROFILE");
const WAIT = 15_000;

function check(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
const step = (text) => console.log(text);
const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1200, height: 900 },
});
const failures = [];
try {
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  // The browser logs every 4xx; the one 400 expected is the editor's dry run of a broken zone.
  let refused = 0;
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (/^Failed to load resource: .* status of 400 /.test(message.text())) refused += 1;
    else failures.push(`console error: ${message.text()}`);
  });
  const requests = [];
  page.on("request", (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
  const shot = (name) => page.screenshot({ path: join(shots, name), fullPage: true });

  // ---- sign in, with the keyboard only
  const response = await page.goto(`${base}/console`);
  check(response.status() === 200, `GET /console is 200, not ${response.status()}`);
  check((response.headers()["content-security-policy"] || "").includes("script-src 'self'"), "the console is served under its CSP");
  await page.locator("#token").waitFor();
  check(await page.locator("#tabs").isHidden(), "no views before signing in");
  await shot("login.png");
  await page.locator("#token").focus();
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  step("signed in");

  // ---- zones and versions
  const apexes = ["example.com.", "example.org.", "shared.example.", "2.0.192.in-addr.arpa.", "console.test."];
  for (const apex of apexes) await page.locator(`#zones-table tr[data-apex="${apex}"]`).waitFor();
  check((await page.locator("#current-version").textContent()) === v2, "v2 is current");
  check(await page.evaluate((key) => sessionStorage.getItem(key) !== null, "edgedns-admin-token"), "the token is in session storage");
  check(!(await page.evaluate(() => localStorage.length)), "nothing in local storage");
  const history = await page.locator("#history-table tbody tr").evaluateAll((rows) => rows.map((row) => row.dataset.version));
  check(history[0] === v2 && history[1] === v1, `history newest first: ${history}`);
  await page.locator("#diff-button").click();
  const diff = await page.locator("#diff pre.diff").textContent();
  check(diff.includes("console.test."), `the diff from v1 to v2 names the zone added: ${diff}`);
  check(requests.includes("GET /admin/zones") && requests.some((r) => r.startsWith("GET /admin/diff")), `ordinary admin API calls: ${requests}`);
  await shot("zones.png");
  step("zones, history and diff seen");

  // ---- a routed set drawn, with the path for a country
  await page.locator("#zones-table button", { hasText: "geo.app.example.org. A" }).click();
  await page.locator("#view-policies").waitFor();
  await page.locator("#client-country").fill("US");
  await page.locator("#policy-form button[type=submit]").click();
  const usa = page.locator('.node[data-label="usa"]');
  await page.locator('.node[data-label="usa"][data-state="on-path"]').waitFor();
  check((await page.locator('.node[data-label="washington"]').getAttribute("data-state")) === "dropped", "US-WA is dropped for a client in US without a subdivision");
  check((await page.locator('.node[data-label="washington"] .why').textContent()).includes("does not match"), "and says why");
  check((await page.locator('.node[data-label="default"]').getAttribute("data-state")) === "not-taken", "the default is not taken");
  check((await page.locator(".node.on-path").count()) === 2, "the path is the geolocation node and usa");
  check((await page.locator("#answer-data").textContent()).includes("192.0.2.30"), "the answer for US is usa's");
  check((await usa.getAttribute("aria-label")).includes("on the path"), "the path is said, not only coloured");
  await shot("policies.png");
  // Another client, another path: Washington state.
  await page.locator("#client-region").fill("WA");
  await page.locator("#policy-form button[type=submit]").click();
  await page.locator('.node[data-label="washington"][data-state="on-path"]').waitFor();
  check((await usa.getAttribute("data-state")) === "not-taken", "usa is not taken for US-WA");
  check((await page.locator("#answer-data").textContent()).includes("192.0.2.31"), "the answer for US-WA is washington's");
  step("policy tree drawn, paths for US and US-WA highlighted");

  // ---- health board: force a check down
  await page.locator('.tab[data-view="health"]').click();
  const row = page.locator('#health-table tr[data-check="console-primary"]');
  await row.waitFor();
  check((await row.getAttribute("data-healthy")) === "true", "console-primary starts up");
  await row.locator("input.reason").fill("e2e drill");
  await row.locator("button.force-down").click();
  await page.locator('#health-table tr[data-check="console-primary"][data-healthy="false"]').waitFor();
  check((await row.locator("td.override").textContent()).includes("forced down: e2e drill"), "the override and its reason are shown");
  check(requests.includes("PUT /admin/health/overrides/console-primary"), "forced through the admin API");
  await shot("health.png");
  step("FORCED-DOWN");
  check((await nextLine()) === "continue", "the test goes on");
  // The console sees the answer change too: the failover goes to the standby.
  await page.locator('.tab[data-view="zones"]').click();
  await page.locator("#zones-table button", { hasText: "service.console.test. A" }).click();
  for (const field of ["#client-country", "#client-region"]) await page.locator(field).fill("");
  await page.locator("#policy-form button[type=submit]").click();
  await page.locator('.node[data-label="standby"][data-state="on-path"]').waitFor();
  check((await page.locator('.node[data-label="primary"]').getAttribute("data-state")) === "dropped", "the primary is dropped");
  check((await page.locator("#answer-data").textContent()).includes("192.0.2.2"), "the console's answer is the standby's");
  await shot("policies-failover.png");
  step("the answer changed to the standby");

  // ---- traffic: the queries asked so far, from this isolate's counters (the Rust test asked
  // service.console.test. twice, nope.console.test. and www.example.com. once each)
  await page.locator('.tab[data-view="traffic"]').click();
  await page.locator("#traffic-total").waitFor();
  check((await page.locator("#traffic-source").getAttribute("data-source")) === "isolate", "without Analytics Engine the counts are the isolate's");
  const total = Number(await page.locator("#traffic-total").getAttribute("data-queries"));
  check(total === 4, `4 answered queries counted, not ${total}`);
  const zoneRow = page.locator('#traffic-zones tr[data-key="console.test."]');
  check((await zoneRow.locator("td.count").textContent()) === "3", "3 of them for console.test.");
  check((await page.locator('#traffic-rcodes tr[data-key="NXDOMAIN"] td.count').textContent()) === "1", "one NXDOMAIN");
  check((await page.locator('#traffic-names tr[data-key="service.console.test."] td.count').textContent()) === "2", "the top name");
  check((await page.locator("#traffic-chart polyline").count()) === 3, "a line for all queries and one per zone");
  check(requests.includes("GET /admin/traffic"), `an ordinary admin API call: ${requests}`);
  // The window, with the keyboard: pick 5 minutes and press Enter on Refresh.
  await page.locator("#traffic-minutes").selectOption("5");
  const refreshed = page.waitForResponse((response) => response.url().includes("/admin/traffic?minutes=5"));
  await page.locator("#traffic-form button[type=submit]").focus();
  await page.keyboard.press("Enter");
  check((await refreshed).status() === 200, "the window's refresh is answered");
  await page.waitForFunction(() => /last 5 min/.test(document.querySelector("#traffic-total").textContent));
  await shot("traffic.png");
  step("traffic counted and drawn");

  // ---- firewall: a query blocked by a subscribed list, counted by list and rule; the other
  // subscription's last download failed and stands out
  step("BLOCK");
  check((await nextLine()) === "continue", "the test goes on");
  await page.locator('.tab[data-view="firewall"]').click();
  await page.locator("#firewall-blocked[data-blocked]").waitFor();
  check((await page.locator("#firewall-mode").getAttribute("data-mode")) === "resolver", "the Worker is in resolver mode");
  check((await page.locator("#firewall-blocked").getAttribute("data-blocked")) === "1", "one query blocked");
  check((await page.locator('#firewall-lists tr[data-list="ads.txt"] td.count').textContent()) === "1", "counted for ads.txt");
  const rule = page.locator('#firewall-rules tr[data-list="ads.txt"][data-line="2"]');
  check((await rule.locator("code").first().textContent()) === "||ads.example^", "the rule as written, with its line");
  check((await rule.locator("td.count").textContent()) === "1", "the rule counted once");
  const failing = page.locator('#firewall-subscriptions tr[data-list="trackers.txt"]');
  check((await failing.getAttribute("data-failing")) === "true" && (await failing.getAttribute("class")) === "failing", "the failing list stands out");
  const failure = await failing.textContent();
  check(failure.includes("HTTP status 503") && failure.includes("2 failures in a row") && failure.includes("the last good list keeps serving"), `the failure is said: ${failure}`);
  check((await page.locator('#firewall-subscriptions tr[data-list="ads.txt"]').getAttribute("data-failing")) === "false", "ads.txt is fine");
  check(requests.includes("GET /admin/firewall/stats") && requests.includes("GET /admin/firewall/subscriptions"), `ordinary admin API calls: ${requests}`);
  await shot("firewall.png");
  step("firewall blocks and subscriptions seen");

  // ---- the zone editor: load console.test., make a deliberate error, see it with its line,
  // fix it, check it clean, publish after the confirmation (the test then asks over DoH)
  step("EDIT");
  check((await nextLine()) === "continue", "the test goes on");
  await page.locator('.tab[data-view="zones"]').click();
  await page.locator('#zones-table tr[data-apex="console.test."] button.edit').click();
  await page.locator("#editor:not([hidden])").waitFor();
  await page.waitForFunction(() => document.querySelector("#editor-zone").value.includes("ns1 A 192.0.2.53"));
  const original = await page.locator("#editor-zone").inputValue();
  check((await page.locator("#editor-routes").inputValue()).includes("console-primary"), "the routes file is loaded too");
  check(requests.includes("GET /admin/zones/console.test."), `the sources come from the admin API: ${requests}`);
  check(await page.locator("#editor-publish").isDisabled(), "nothing to publish before a check");
  const broken = `${original}www CNAME service\nwww A 192.0.2.7\n`;
  await page.locator("#editor-zone").fill(broken);
  await page.locator("#editor-check").click();
  const error = page.locator("#editor-errors li").first();
  await error.waitFor();
  const message = await error.locator("code").textContent();
  const line = Number(await error.getAttribute("data-line"));
  const brokenLines = broken.split("\n");
  check(message.startsWith(`console.test.zone:${line}: `) && message.includes("CNAME"), `the compiler's file:line message: ${message}`);
  check(brokenLines[line - 1].startsWith("www "), `the line named is one of the lines added: ${line}`);
  check(await page.locator("#editor-publish").isDisabled(), "an edit with errors cannot be published");
  check(requests.includes("PUT /admin/zones/console.test.") && !requests.some((r) => r.startsWith("POST")), "checked with a dry run");
  await error.locator("button.goto").click();
  const selected = await page.locator("#editor-zone").evaluate((area) => area.value.slice(0, area.selectionStart).split("\n").length);
  check(selected === line, `Go to line selects line ${line}, not ${selected}`);
  // A full-page shot from the top, where the sticky bar is.
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("editor.png");
  await page.locator("#editor-zone").fill(`${original}www A 192.0.2.7\n`);
  await page.locator("#editor-check").click();
  await page.locator("#editor-result pre.changes").waitFor();
  check((await page.locator("#editor-result pre.changes").textContent()).includes("console.test."), "the dry run lists the change");
  check(await page.locator("#editor-publish").isEnabled(), "a clean check offers Publish");
  // Any change after the check takes the offer back until checked again.
  await page.locator("#editor-zone").press("End");
  await page.locator("#editor-zone").type(" ");
  check(await page.locator("#editor-publish").isDisabled(), "an edit after the check needs a new check");
  await page.locator("#editor-zone").fill(`${original}www A 192.0.2.7\n`);
  await page.locator("#editor-check").click();
  await page.waitForFunction(() => !document.querySelector("#editor-publish").disabled);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("editor-checked.png");
  await page.locator("#editor-publish").click();
  await page.locator("#confirm[open]").waitFor();
  check((await page.locator("#confirm-text").textContent()).includes("console.test."), "the confirmation names the zone");
  await page.locator("#confirm-ok").click();
  const published = page.locator("#editor-result h4[data-version]");
  await published.waitFor();
  const v3 = await published.getAttribute("data-version");
  await page.waitForFunction((version) => document.querySelector("#current-version").textContent === version, v3);
  check(v3 !== v2, "a new version");
  step("PUBLISHED");
  check((await nextLine()) === "continue", "the test goes on");
  step("edited, checked and published");

  // ---- roll back to v1, through the confirmation
  await page.locator('.tab[data-view="zones"]').click();
  await page.locator(`#history-table tr[data-version="${v1}"] button.rollback`).click();
  await page.locator("#confirm[open]").waitFor();
  check((await page.locator("#confirm-text").textContent()).includes(v1), "the confirmation names the version");
  await shot("rollback.png");
  // Cancel first: nothing happens.
  await page.locator("#confirm-cancel").click();
  check(!requests.includes("POST /admin/rollback"), "cancel sends nothing");
  await page.locator(`#history-table tr[data-version="${v1}"] button.rollback`).click();
  await page.locator("#confirm-ok").click();
  await page.waitForFunction((version) => document.querySelector("#current-version").textContent === version, v1);
  await page.locator('#zones-table tr[data-apex="console.test."]').waitFor({ state: "detached" });
  check((await page.locator("#status").textContent()).includes(`→ ${v1}`), "the rollback is reported");
  step("rolled back to v1");

  // ---- on a phone
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('.tab[data-view="health"]').click();
  await page.locator("#health-table tbody tr").first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `the page fits a phone's width (overflows by ${overflow} px)`);
  await shot("phone.png");
  await page.locator('.tab[data-view="traffic"]').click();
  await page.locator('#traffic-zones tr[data-key="console.test."]').waitFor();
  const trafficOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(trafficOverflow <= 0, `the Traffic view fits a phone's width (overflows by ${trafficOverflow} px)`);
  await shot("traffic-phone.png");
  await page.locator('.tab[data-view="firewall"]').click();
  await page.locator('#firewall-subscriptions tr[data-list="trackers.txt"]').waitFor();
  const firewallOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(firewallOverflow <= 0, `the Firewall view fits a phone's width (overflows by ${firewallOverflow} px)`);
  await shot("firewall-phone.png");
  // The editor too (v1 is current again: example.com.'s sources).
  await page.locator('.tab[data-view="zones"]').click();
  await page.locator('#zones-table tr[data-apex="example.com."] button.edit').click();
  await page.waitForFunction(() => document.querySelector("#editor-zone").value.includes("SOA"));
  const editorOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(editorOverflow <= 0, `the zone editor fits a phone's width (overflows by ${editorOverflow} px)`);
  check(refused === 1, `one request refused with 400 (the broken zone's dry run), not ${refused}`);
  check(failures.length === 0, failures.join("; "));
  step("DONE");
} catch (error) {
  // What the page said, to tell why.
  const page = context.pages()[0];
  const status = page ? await page.locator("#status").textContent().catch(() => "") : "";
  console.error(`failed: ${error.message}\nstatus line: ${status}\n${failures.join("\n")}`);
  process.exitCode = 1;
} finally {
  lines.close();
  await context.close();
}
