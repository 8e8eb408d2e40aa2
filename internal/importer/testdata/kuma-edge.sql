-- Every other Kuma loss.
INSERT INTO notification (id, name, active, is_default, config) VALUES
 (1, 'garbled', 1, 0, 'not json'),
 (2, 'gotify-bad-priority', 1, 0, '{"type":"gotify","gotifyserverurl":"https://g.example.com","gotifyapplicationToken":"tok","gotifyPriority":"high"}');
INSERT INTO monitor (id, name, interval, url, type, hostname, port, method, headers, auth_method, basic_auth_user, basic_auth_pass,
  maxretries, retry_interval, resend_interval, mqtt_password, json_path, expected_value, json_path_operator, dns_resolve_type, dns_resolve_server) VALUES
 (1, 'Put', 60, 'https://example.org/put', 'http', NULL, NULL, 'PUT', 'not json', 'ntlm', 'u', 'secret-pass', 1, 20, 5, 'mqtt-secret', NULL, NULL, '==', 'A', '1.1.1.1'),
 (2, 'Query', 60, 'https://example.org/q', 'json-query', NULL, NULL, 'GET', NULL, NULL, NULL, NULL, 0, 60, 0, NULL, 'status', 'up', 'regex', 'A', '1.1.1.1'),
 (3, 'SRV', 60, NULL, 'dns', 'example.com', 53, 'GET', NULL, NULL, NULL, NULL, 0, 60, 0, NULL, NULL, NULL, '==', 'SRV', '1.1.1.1');
INSERT INTO maintenance (id, title, description, active, strategy, start_date, end_date, start_time, end_time, weekdays, cron, timezone) VALUES
 (1, 'Manual', '', 1, 'manual', NULL, NULL, NULL, NULL, '[]', NULL, 'UTC'),
 (2, 'Cron', '', 1, 'cron', NULL, NULL, NULL, NULL, '[]', '0 3 * * *', 'UTC'),
 (3, 'Off', '', 0, 'single', '2026-01-01 00:00:00', '2026-01-01 01:00:00', NULL, NULL, '[]', NULL, 'UTC'),
 (4, 'Orphan', '', 1, 'single', '2026-01-01 00:00:00', '2026-01-01 01:00:00', NULL, NULL, '[]', NULL, 'UTC'),
 (5, 'Server zone', '', 1, 'single', '2026-01-01 00:00:00', '2026-01-01 01:00:00', NULL, NULL, '[]', NULL, 'SAME_AS_SERVER'),
 (6, 'Mars', '', 1, 'single', '2026-01-01 00:00:00', '2026-01-01 01:00:00', NULL, NULL, '[]', NULL, 'Mars/Olympus'),
 (7, 'Backwards', '', 1, 'single', '2026-01-01 02:00:00', '2026-01-01 01:00:00', NULL, NULL, '[]', NULL, 'UTC');
INSERT INTO monitor_maintenance (monitor_id, maintenance_id) VALUES (1, 1), (1, 2), (1, 3), (3, 4), (1, 5), (1, 6), (1, 7);
