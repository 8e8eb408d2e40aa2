-- A Kuma setup written from its documented monitor and notification
-- settings: every kind upmon maps, and some it does not.
INSERT INTO notification (id, name, active, is_default, config) VALUES
 (1, 'ops-slack', 1, 1, '{"name":"ops-slack","type":"slack","isDefault":true,"slackwebhookURL":"https://hooks.slack.com/services/T0/B0/XXXX","slackusername":"kuma","slackchannel":"#ops"}'),
 (2, 'tg', 1, 0, '{"name":"tg","type":"telegram","telegramBotToken":"123456789:AAbbcc","telegramChatID":"-100123","telegramMessageThreadID":"5","telegramSendSilently":true}'),
 (3, 'mail', 1, 0, '{"name":"mail","type":"smtp","smtpHost":"smtp.example.com","smtpPort":465,"smtpSecure":true,"smtpUsername":"u","smtpPassword":"p","smtpFrom":"kuma@example.com","smtpTo":"a@example.com, b@example.com","smtpCC":"c@example.com"}'),
 (4, 'line', 1, 0, '{"name":"line","type":"line","lineChannelAccessToken":"x"}'),
 (5, 'og', 0, 0, '{"name":"og","type":"Opsgenie","opsgenieApiKey":"eb243592-faa2-4ba2-a551-1afdf565c889","opsgenieRegion":"eu","opsgeniePriority":2}'),
 (6, 'pd', 1, 0, '{"name":"pd","type":"PagerDuty","pagerdutyIntegrationKey":"eb243592faa24ba2a5511afdf565c889","pagerdutyIntegrationUrl":"https://events.eu.pagerduty.com/v2/enqueue","pagerdutyPriority":"warning","pagerdutyAutoResolve":"resolve"}'),
 (7, 'hook', 1, 0, '{"name":"hook","type":"webhook","webhookURL":"https://hooks.example.com/k","webhookContentType":"form-data","webhookAdditionalHeaders":"{\"X-Key\":\"abc\"}"}'),
 (8, 'ntfy', 1, 0, '{"name":"ntfy","type":"ntfy","ntfyserverurl":"https://ntfy.example.com","ntfytopic":"kuma-topic","ntfyPriority":5,"ntfyAuthenticationMethod":"accessToken","ntfyaccesstoken":"tk_x"}');
INSERT INTO monitor (id, name, active, interval, url, type, hostname, port, keyword, maxretries, ignore_tls, maxredirects, accepted_statuscodes_json,
  dns_resolve_type, dns_resolve_server, retry_interval, push_token, method, body, headers, basic_auth_user, basic_auth_pass, timeout, json_path, expected_value, invert_keyword, upside_down, description) VALUES
 (1, 'Website', 1, 60, 'https://example.org/', 'http', NULL, NULL, NULL, 2, 0, 10, '["200-299"]', 'A', '1.1.1.1', 60, NULL, 'GET', NULL, NULL, NULL, NULL, 48, NULL, NULL, 0, 0, NULL),
 (2, 'API', 1, 30, 'https://api.example.org/health', 'keyword', NULL, NULL, 'Error', 0, 1, 0, '["200-299","304"]', 'A', '1.1.1.1', 30, NULL, 'POST', '{"a":1}', '{"X-Env":"prod"}', 'user', 'pass', 10, NULL, NULL, 1, 0, NULL),
 (3, 'Status JSON', 0, 120, 'https://api.example.org/status', 'json-query', NULL, NULL, NULL, 0, 0, 10, '["200-299"]', 'A', '1.1.1.1', 120, NULL, 'GET', NULL, NULL, NULL, NULL, 0, 'data.status', 'ok', 0, 0, NULL),
 (4, 'Expr', 1, 60, 'https://api.example.org/expr', 'json-query', NULL, NULL, NULL, 0, 0, 10, '["200-299"]', 'A', '1.1.1.1', 60, NULL, 'GET', NULL, NULL, NULL, NULL, 0, '$count(items) > 2', 'true', 0, 1, 'counts items'),
 (5, 'DB', 1, 60, NULL, 'port', 'db.internal', 5432, NULL, 0, 0, 10, '["200-299"]', 'A', '1.1.1.1', 60, NULL, 'GET', NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, NULL),
 (6, 'DNS', 1, 300, NULL, 'dns', 'example.com', 53, NULL, 0, 0, 10, '["200-299"]', 'MX', '9.9.9.9', 300, NULL, 'GET', NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, NULL),
 (7, 'Backup job', 1, 86400, NULL, 'push', NULL, NULL, NULL, 0, 0, 10, '["200-299"]', 'A', '1.1.1.1', 86400, 'AbCdEf0123', 'GET', NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, NULL),
 (8, 'Router', 1, 60, NULL, 'ping', 'router.lan', NULL, NULL, 0, 0, 10, '["200-299"]', 'A', '1.1.1.1', 60, NULL, 'GET', NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, NULL);
INSERT INTO monitor_notification (monitor_id, notification_id) VALUES (1, 1), (1, 2), (2, 3), (2, 4), (5, 1);
INSERT INTO tag (id, name, color) VALUES (1, 'prod', '#f00'), (2, 'team', '#0f0'), (3, 'Web Site', '#00f');
INSERT INTO monitor_tag (monitor_id, tag_id, value) VALUES (1, 1, ''), (1, 2, 'web'), (2, 3, NULL);
INSERT INTO maintenance (id, title, description, active, strategy, start_date, end_date, start_time, end_time, weekdays, timezone) VALUES
 (1, 'DB upgrade', '', 1, 'single', '2026-12-01 02:00:00', '2026-12-01 03:00:00', NULL, NULL, '[]', 'UTC'),
 (2, 'Weekly', '', 1, 'recurring-weekday', NULL, NULL, '22:00', '23:30', '[0, 3]', 'UTC'),
 (3, 'Monthly', '', 1, 'recurring-day-of-month', NULL, NULL, '01:00', '02:00', '[]', 'UTC');
INSERT INTO monitor_maintenance (monitor_id, maintenance_id) VALUES (5, 1), (1, 2), (5, 2), (1, 3);
