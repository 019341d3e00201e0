// The YAML configuration (SPEC 3.1): defaults, unknown keys and wrong types named by key path,
// paths relative to the config file, Temporal environment variables taking precedence.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../common/config';
import { temporalTarget } from '../client/temporal-target';
import { redactStoreUrl } from '../common/store-url';

function writeConfig(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-config-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

test('an empty file gives the documented defaults', () => {
  const config = loadConfig(writeConfig(''));
  assert.equal(config.temporal.address, '127.0.0.1:7233');
  assert.equal(config.temporal.taskQueue, 'qlik-audit');
  assert.equal(config.screenshots.auth.mode, 'userTicket');
  assert.equal(config.screenshots.auth.qps.port, 4243);
  assert.deepEqual(config.screenshots.allowedImageDownloadHosts, []);
  assert.equal(config.eventApi.port, 8181);
  assert.equal(config.auditSecurityLog.sequenceMax, 2147483647);
});

test('the SPEC example configuration is accepted as written', () => {
  const config = loadConfig(
    writeConfig(`
temporal: { address: 127.0.0.1:7233, namespace: default, taskQueue: qlik-audit }
qlik:
  cert: { clientCert: ./certs/client.pem, clientCertKey: ./certs/client_key.pem, clientCertCA: ./certs/root.pem, clientCertPassphrase: '' }
  rejectUnauthorized: true
screenshots:
  enable: true
  downloadTimeoutMs: 15000
  allowedImageDownloadHosts: [qlik.example.com, qlik-proxy.example.com]
  storageTargets:
    - { enable: true, type: flat, directory: ./var/screenshots }
  auth:
    mode: userTicket
    qps: { host: qlik.example.com, port: 4243, ticketTimeoutMs: 5000, userDirectory: INTERNAL, userId: sa_scheduler, virtualProxy: '' }
    sessionCache: { enable: true, ttlSeconds: 120, maxEntries: 100 }
eventApi: { host: 127.0.0.1, port: 8181, apiToken: '', rateLimitPerMinute: 300 }
auditSecurityLog:
  sources: [ { directory: ./var/qlik-logs } ]
  every: 5m
  store: embedded:./var/auditdb
  sequenceMax: 2147483647
`),
  );
  assert.deepEqual(config.screenshots.allowedImageDownloadHosts, ['qlik.example.com', 'qlik-proxy.example.com']);
  assert.equal(config.screenshots.auth.qps.userId, 'sa_scheduler');
});

test('relative paths are resolved against the config file folder', () => {
  const file = writeConfig('qlik: { cert: { clientCert: certs/c.pem } }\nscreenshots: { storageTargets: [ { type: flat, directory: shots } ] }');
  const config = loadConfig(file);
  assert.equal(config.qlik.cert.clientCert, path.join(path.dirname(file), 'certs/c.pem'));
  assert.equal(config.screenshots.storageTargets[0]?.directory, path.join(path.dirname(file), 'shots'));
  assert.equal(config.auditSecurityLog.store, `embedded:${path.join(path.dirname(file), 'var/auditdb')}`);
});

test('an unknown key is an error naming its full path', () => {
  assert.throws(() => loadConfig(writeConfig('screenshots:\n  auth:\n    qps:\n      hots: x\n')), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /screenshots\.auth\.qps\.hots: unknown key/);
    return true;
  });
});

test('a wrong type is an error naming its path, also inside lists', () => {
  assert.throws(() => loadConfig(writeConfig('eventApi: { port: "eighty" }')), /eventApi\.port: /);
  assert.throws(() => loadConfig(writeConfig('screenshots: { storageTargets: [ { type: s3, directory: x } ] }')), /screenshots\.storageTargets\[0\]\.type: /);
  assert.throws(() => loadConfig(writeConfig('screenshots: { auth: { mode: ticket } }')), /screenshots\.auth\.mode: /);
});

test('invalid YAML and a missing file name the file', () => {
  const file = writeConfig('temporal: [unclosed');
  assert.throws(() => loadConfig(file), (err: Error) => err.message.includes(file) && /not valid YAML/.test(err.message));
  assert.throws(() => loadConfig('/nonexistent/qa.yaml'), /cannot read config file \/nonexistent\/qa\.yaml: ENOENT/);
});

test('TEMPORAL_* environment variables override temporal.* from the file', () => {
  const config = loadConfig(writeConfig('temporal: { address: file-host:7233, namespace: from-file, taskQueue: tq }'));
  const fromFile = temporalTarget(config, {});
  assert.equal(fromFile.address, 'file-host:7233');
  assert.equal(fromFile.namespace, 'from-file');
  assert.equal(fromFile.apiKey, undefined);
  const fromEnv = temporalTarget(config, { TEMPORAL_ADDRESS: 'env-host:7233', TEMPORAL_NAMESPACE: 'prod.acct', TEMPORAL_API_KEY: 'k' });
  assert.equal(fromEnv.address, 'env-host:7233');
  assert.equal(fromEnv.namespace, 'prod.acct');
  assert.equal(fromEnv.apiKey, 'k');
  assert.equal(fromEnv.tls, true, 'an API key implies TLS, as with the temporal CLI');
  assert.equal(fromEnv.taskQueue, 'tq');
});

test("a Butler SOS auditEvents.destination.screenshots subtree loads as pasted: null lists, slashes, addInImageMetadata", () => {
  // Every key of Butler SOS's screenshots schema (src/lib/config-schemas/audit-events.js), written as
  // a Butler SOS user has it, with its list entries commented out.
  const config = loadConfig(
    writeConfig(`
screenshots:
  enable: true
  downloadTimeoutMs: 15000
  addInImageMetadata:
    enable: true
    fields:
      date: true
      eventId: true
      correlationId: false
      selectionTxnId: false
      user: true
      appId: false
      appName: true
      sheetName: true
      viewingDuration: false
  auth:
    mode: qpsTicket
    qps:
      host: qlik-proxy.example.com
      port: 4243
      userDirectory: INTERNAL
      userId: sa_scheduler
      virtualProxy: /analytics/
      ticketTimeoutMs: 5000
    sessionCache:
      enable: false
      ttlSeconds: 0.5
      maxEntries: 100
  storageTargets:
    # - enable: true
    #   type: flat
    #   directory: ./audit-events/screenshots
  allowedImageDownloadHosts:
    # - qlik.example.com
`),
  );
  assert.deepEqual(config.screenshots.storageTargets, []);
  assert.deepEqual(config.screenshots.allowedImageDownloadHosts, []);
  assert.equal(config.screenshots.auth.qps.virtualProxy, 'analytics', 'slashes stripped as Butler SOS strips them');
  assert.equal(config.screenshots.addInImageMetadata.enable, true);
  assert.equal(config.screenshots.addInImageMetadata.fields.sheetName, true);
  assert.equal(config.screenshots.addInImageMetadata.fields.viewingDuration, false);
  assert.equal(loadConfig(writeConfig('screenshots: { auth: { qps: { virtualProxy: / } } }')).screenshots.auth.qps.virtualProxy, '');
});

test('settings that would fail every run are refused at load, naming the entry and what to write', () => {
  const message = (yaml: string) => {
    try {
      loadConfig(writeConfig(yaml));
    } catch (err) {
      return (err as Error).message;
    }
    return 'loaded';
  };
  assert.match(message('screenshots: { allowedImageDownloadHosts: [ "qlik.example.com:443" ] }'), /allowedImageDownloadHosts\[0\]: 'qlik\.example\.com:443' has a port: write the bare host name or IP, e\.g\. qlik\.example\.com/);
  assert.match(message('screenshots: { allowedImageDownloadHosts: [ ok.example.com, "https://qlik.example.com/hub" ] }'), /allowedImageDownloadHosts\[1\]: 'https:\/\/qlik\.example\.com\/hub' has a scheme: .*e\.g\. qlik\.example\.com/);
  assert.match(message('screenshots: { allowedImageDownloadHosts: [ "qlik .example.com" ] }'), /is not a host name or IP address/);
  assert.match(message('screenshots: { allowedImageDownloadHosts: [ "[::1]:443" ] }'), /has a port/);
  assert.deepEqual(loadConfig(writeConfig('screenshots: { allowedImageDownloadHosts: [ Qlik.Example.com, 10.0.0.7, "::1", "[::1]" ] }')).screenshots.allowedImageDownloadHosts, ['Qlik.Example.com', '10.0.0.7', '::1', '[::1]']);
  assert.match(message('screenshots: { auth: { mode: qpsTicket } }'), /screenshots\.auth\.qps: auth mode qpsTicket downloads as one fixed user: set userDirectory and userId/);
  assert.match(message('screenshots: { auth: { qps: { virtualProxy: "my proxy" } } }'), /screenshots\.auth\.qps\.virtualProxy: 'my proxy' is not a virtual proxy prefix/);
});

test('a store URL shown in a log line, a message or an evidence bundle carries no password, however it is spelled', () => {
  const cases: [string, string][] = [
    ['postgres://qa:p@ss@db.example.com:5432/qa', 'postgres://qa@db.example.com:5432/qa'], // '@' in the password
    ['postgres://qa:p%40ss%3Fx@db.example.com/qa', 'postgres://qa@db.example.com/qa'],
    ['postgres://qa@db.example.com/qa?password=s3cret&schema=x', 'postgres://qa@db.example.com/qa?password=%5Bredacted%5D&schema=x'],
    ['postgresql://qa:plain@h/db?sslpassword=k', 'postgresql://qa@h/db?sslpassword=%5Bredacted%5D'],
    ['embedded:/srv/qlik-audit/auditdb', 'embedded:/srv/qlik-audit/auditdb'],
  ];
  for (const [url, shown] of cases) {
    assert.equal(redactStoreUrl(url), shown);
    assert.doesNotMatch(redactStoreUrl(url), /s3cret|plain|p@ss|p%40ss|=k\b/);
  }
});

test("the SPEC's auditUi block loads as written; the web app is off by default and refused half-configured, naming the key", () => {
  assert.equal(loadConfig(writeConfig('')).auditUi.enable, false);
  const config = loadConfig(
    writeConfig(`
auditUi:
  enable: true
  host: 127.0.0.1
  port: 8282
  tls: { enable: false, cert: '', key: '', ca: '', passphrase: '' }
  oidc:
    issuer: https://login.example.com/realms/acme
    clientId: qlik-audit
    clientSecret: ''
    redirectUri: https://qlik-audit.example.com:8282/auth/callback
    rolesClaim: groups
    auditorValues: [qlik-auditors]
    operatorValues: [qlik-operators]
  sessionMinutes: 480
`),
  );
  assert.deepEqual([config.auditUi.port, config.auditUi.oidc.rolesClaim, config.auditUi.oidc.auditorValues], [8282, 'groups', ['qlik-auditors']]);
  const refused = (yaml: string, pattern: RegExp) => assert.throws(() => loadConfig(writeConfig(yaml)), (err: Error) => err instanceof ConfigError && pattern.test(err.message), yaml);
  refused('auditUi: { enable: true }', /auditUi\.oidc\.issuer: enable is true: set it/);
  const oidc = "issuer: 'https://login.example.com', clientId: c, redirectUri: 'https://qa.example.com:8282/auth/callback', auditorValues: [a]";
  refused(`auditUi: { enable: true, oidc: { issuer: 'http://login.example.com', clientId: c, redirectUri: 'https://qa.example.com:8282/auth/callback', auditorValues: [a] } }`, /auditUi\.oidc\.issuer: .*https:\/\//);
  refused(`auditUi: { enable: true, oidc: { issuer: 'https://login.example.com', clientId: c, redirectUri: 'https://qa.example.com:8282/login', auditorValues: [a] } }`, /auditUi\.oidc\.redirectUri: .*\/auth\/callback/);
  refused(`auditUi: { enable: true, oidc: { issuer: 'https://login.example.com', clientId: c, redirectUri: 'https://qa.example.com:8282/auth/callback' } }`, /auditUi\.oidc\.auditorValues: .*nobody else gets in/);
  // Session cookies never cross a network in clear.
  refused(`auditUi: { enable: true, host: 0.0.0.0, oidc: { ${oidc} } }`, /auditUi\.tls\.enable: host 0\.0\.0\.0 serves beyond this machine: enable TLS/);
  refused(`auditUi: { enable: true, tls: { enable: true }, oidc: { ${oidc} } }`, /auditUi\.tls: enable is true: set cert and key/);
  refused('auditUi: { oidc: { tenant: x } }', /auditUi\.oidc.*tenant/);
  const tls = loadConfig(writeConfig(`auditUi: { enable: true, host: 0.0.0.0, tls: { enable: true, cert: certs/ui.pem, key: certs/ui-key.pem }, oidc: { ${oidc} } }`));
  assert.ok(path.isAbsolute(tls.auditUi.tls.cert), 'TLS files are relative to the config file');
});

test("the SPEC's detections and alerts blocks load as written; a sink is named once, and a password never goes in clear", () => {
  const config = loadConfig(
    writeConfig(`
detections:
  every: 1m
  suppressionMinutes: 60
  rules:
    failedLogins:         { enable: true, threshold: 5, windowSeconds: 300, severity: high }
    accessDenied:         { enable: true, threshold: 10, windowSeconds: 600, severity: medium }
    serviceAccountRemote: { enable: true, severity: critical }
    newClientAddress:     { enable: false, learningDays: 14, severity: low }
    integrity:            { enable: true, severity: critical }
    screenshotRefusals:   { enable: true, threshold: 20, windowSeconds: 600, severity: medium }
alerts:
  sinks:
    - { name: soc, type: webhook, url: 'https://siem.example.com/hook', secret: '', ca: '' }
    - { name: siem, type: syslog, host: siem.example.com, port: 6514, tls: { ca: '' } }
    - { name: mail, type: email, from: qlik-audit@example.com, to: [soc@example.com],
        smtp: { host: smtp.example.com, port: 587, starttls: true, user: '', password: '', ca: '' } }
`),
  );
  assert.deepEqual(config.alerts.sinks.map((s) => `${s.name}:${s.type}`), ['soc:webhook', 'siem:syslog', 'mail:email']);
  assert.equal(config.detections.rules.failedLogins.threshold, 5);
  const refused = (yaml: string, pattern: RegExp) => assert.throws(() => loadConfig(writeConfig(yaml)), (err: Error) => err instanceof ConfigError && pattern.test(err.message), yaml);
  refused("alerts: { sinks: [ { name: a, type: webhook, url: 'https://x.example/h', secret: s }, { name: a, type: syslog, host: h } ] }", /alerts\.sinks\[1\]\.name: 'a' names two sinks/);
  refused("alerts: { sinks: [ { name: a, type: webhook, url: 'http://x.example/h', secret: s } ] }", /alerts\.sinks\[0\]\.url: expected an https:\/\/ URL/);
  refused("alerts: { sinks: [ { name: m, type: email, from: a@b.c, to: [c@d.e], smtp: { host: h, starttls: false, user: u, password: p } } ] }", /alerts\.sinks\[0\]\.smtp\.starttls: .*in clear/);
  refused("alerts: { sinks: [ { name: p, type: pager } ] }", /alerts\.sinks\[0\]/);
  refused('detections: { every: 0m }', /detections\.every: expected at least 1s/);
  refused('detections: { rules: { failedLogins: { threshold: 0 } } }', /detections\.rules\.failedLogins\.threshold/);
});
