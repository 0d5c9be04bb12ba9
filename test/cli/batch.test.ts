/**
 * Several servers in one run (issue 6): a batch of 50 lab server names served by ONE lab
 * deployment (test/helpers/batch.ts, in a child process), a few of them broken, checked by one
 * runServers() call — one summary, the right `ok` per server, the right exit code, and the
 * detail only for the servers with problems.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../helpers/lab.js'; // FEDCHECK_LOOPBACK_ONLY
import { runServers } from '../../src/run/run.js';
import { exitCodeOf } from '../../src/cli/output.js';
import { renderText } from '../../src/report/text.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import type { Report } from '../../src/core/types.js';
import { startBatchLab, type BatchFault, type BatchLab, type BatchServer } from '../helpers/batch.js';

const FAULTS: Record<number, BatchFault> = { 7: 'no-dns', 19: 'wrong-cert', 33: 'silent', 46: 'no-dns' };
const COUNT = 50;

describe('a batch of 50 lab servers in one run', () => {
  let lab: BatchLab;
  let servers: BatchServer[];
  let report: Report;
  let ms = 0;

  before(async () => {
    // ONE lab deployment serving all 50 names, in a process of its own (its servers are "other machines")
    lab = await startBatchLab(COUNT, FAULTS, 10_000);
    servers = lab.servers;
    const t0 = Date.now();
    ({ report } = await runServers(servers.map((s) => s.serverName), lab.runOptions, 10));
    ms = Date.now() - t0;
  });
  after(async () => {
    await lab?.stop();
  });

  it('checks every server once, in the order given, in one bounded run', () => {
    assert.equal(report.servers.length, COUNT);
    assert.deepEqual(report.servers.map((s) => s.serverName), servers.map((s) => s.serverName));
    // The silent server alone takes its 10 s deadline; the bound only catches a run that
    // serialises or hangs.
    assert.ok(ms < 45_000, `the run took ${ms} ms`);
  });

  it('gives the right ok per server, and the healthy ones resolve as their scenario does', () => {
    for (const [i, s] of report.servers.entries()) {
      const want = servers[i]!;
      const fails = s.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.summary}`);
      assert.equal(s.ok, want.fault === null, `${s.serverName} (fault ${want.fault}): ${fails.join(' | ')}`);
      if (want.fault === null) {
        assert.equal(s.resolution?.method, want.method, s.serverName);
        if (want.template === 'healthy') assert.equal(s.resolution?.hostHeader, `matrix.${s.serverName}:443`);
      }
    }
  });

  it('reports each fault as the failure it is', () => {
    const failed = (name: string, id: string) => report.servers.find((s) => s.serverName === name)!.checks.some((c) => c.id === id && c.status === 'fail');
    assert.ok(failed('s7.example.org', 'dns'), 'no DNS: the dns check fails');
    assert.ok(failed('s46.example.org', 'dns'), 'no DNS: the dns check fails');
    assert.ok(failed('s19.example.org', 'tls'), 'wrong certificate: the tls check fails');
    const silent = report.servers.find((s) => s.serverName === 's33.example.org')!;
    assert.ok(
      silent.checks.some((c) => c.status === 'fail' && (c.id === 'tls' || c.id === 'federation-version' || c.id === 'federation')),
      'silent server: its connection check fails',
    );
  });

  it('exits 1 (the worst of the servers), and the report is not ok', () => {
    assert.equal(report.ok, false);
    assert.equal(exitCodeOf(report), 1);
  });

  it('prints one summary table, then the detail of the broken servers only', () => {
    const text = renderText(report, { colour: false, width: 100 });
    assert.equal(text.split('\n').filter((l) => /^│ server\s+│ verdict/.test(l)).length, 1, 'one summary table');
    assert.match(text, /4 of 50 servers have problems/);
    assert.match(text.replace(/\n/g, ' '), /Details are shown only for the 4 servers with problems; the other 46 passed/);
    assert.match(text, /--full/);
    const headers = text.split('\n').filter((l) => /^s\d+\.example\.org$/.test(l));
    assert.deepEqual(headers, ['s7.example.org', 's19.example.org', 's33.example.org', 's46.example.org']);
    // every server is in the table
    for (const s of servers) assert.ok(text.includes(`│ ${s.serverName} `), s.serverName);
  });

  it('--full details every server', () => {
    const text = renderText(report, { colour: false, width: 100, full: true });
    const headers = text.split('\n').filter((l) => /^s\d+\.example\.org$/.test(l));
    assert.equal(headers.length, COUNT);
    assert.doesNotMatch(text, /Details are shown only/);
  });

  it('Markdown has the same summary and the same selection', () => {
    const md = renderMarkdown(report);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| server | verdict |')).length, 1);
    assert.equal(md.split('\n').filter((l) => /^## s\d+\\?\.example/.test(l)).length, 4);
    assert.equal(renderMarkdown(report, { full: true }).split('\n').filter((l) => /^## s\d+/.test(l)).length, COUNT);
  });
});
