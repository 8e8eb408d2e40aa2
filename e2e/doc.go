// Package e2e holds whole-program tests: they start the real program
// (app.Main, or the built binary) on loopback and drive it over HTTP, with
// httptest-style servers playing the monitored sites and Slack.
package e2e
