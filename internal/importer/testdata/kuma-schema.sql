-- The tables upmon import reads, written from Uptime Kuma's knex
-- migrations (db/knex_init_db.js and the later column additions).
CREATE TABLE monitor (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(150),
  active BOOLEAN NOT NULL DEFAULT 1,
  user_id INTEGER,
  interval INTEGER NOT NULL DEFAULT 20,
  url TEXT,
  type VARCHAR(20),
  weight INTEGER DEFAULT 2000,
  hostname VARCHAR(255),
  port INTEGER,
  created_date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  keyword VARCHAR(255),
  maxretries INTEGER NOT NULL DEFAULT 0,
  ignore_tls BOOLEAN NOT NULL DEFAULT 0,
  upside_down BOOLEAN NOT NULL DEFAULT 0,
  maxredirects INTEGER NOT NULL DEFAULT 10,
  accepted_statuscodes_json TEXT NOT NULL DEFAULT '["200-299"]',
  dns_resolve_type VARCHAR(5),
  dns_resolve_server VARCHAR(255),
  dns_last_result VARCHAR(255),
  retry_interval INTEGER NOT NULL DEFAULT 0,
  push_token VARCHAR(32) DEFAULT NULL,
  method TEXT NOT NULL DEFAULT 'GET',
  body TEXT DEFAULT NULL,
  headers TEXT DEFAULT NULL,
  basic_auth_user TEXT DEFAULT NULL,
  basic_auth_pass TEXT DEFAULT NULL,
  docker_host INTEGER,
  docker_container VARCHAR(255),
  expiry_notification BOOLEAN DEFAULT 1,
  mqtt_topic TEXT,
  mqtt_password VARCHAR(255),
  auth_method VARCHAR(250),
  resend_interval INTEGER NOT NULL DEFAULT 0,
  packet_size INTEGER NOT NULL DEFAULT 56,
  description TEXT DEFAULT NULL,
  invert_keyword BOOLEAN NOT NULL DEFAULT 0,
  parent INTEGER REFERENCES monitor (id),
  timeout DOUBLE NOT NULL DEFAULT 0,
  json_path TEXT,
  expected_value VARCHAR(255),
  json_path_operator VARCHAR(10) DEFAULT '=='
);
CREATE TABLE notification (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(255),
  active BOOLEAN NOT NULL DEFAULT 1,
  user_id INTEGER,
  is_default BOOLEAN NOT NULL DEFAULT 0,
  config TEXT
);
CREATE TABLE monitor_notification (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  monitor_id INTEGER NOT NULL REFERENCES monitor (id),
  notification_id INTEGER NOT NULL REFERENCES notification (id)
);
CREATE TABLE tag (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(255) NOT NULL,
  color VARCHAR(255) NOT NULL,
  created_date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE monitor_tag (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  monitor_id INTEGER NOT NULL REFERENCES monitor (id),
  tag_id INTEGER NOT NULL REFERENCES tag (id),
  value TEXT
);
CREATE TABLE maintenance (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title VARCHAR(150) NOT NULL,
  description TEXT NOT NULL,
  user_id INTEGER,
  active BOOLEAN NOT NULL DEFAULT 1,
  strategy VARCHAR(50) NOT NULL DEFAULT 'single',
  start_date DATETIME,
  end_date DATETIME,
  start_time TIME,
  end_time TIME,
  weekdays VARCHAR(250) DEFAULT '[]',
  days_of_month TEXT DEFAULT '[]',
  interval_day INTEGER,
  cron TEXT,
  timezone VARCHAR(255),
  duration INTEGER
);
CREATE TABLE monitor_maintenance (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  monitor_id INTEGER NOT NULL REFERENCES monitor (id),
  maintenance_id INTEGER NOT NULL REFERENCES maintenance (id)
);
