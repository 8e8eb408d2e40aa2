// Package pubsub is upmon's typed publish/subscribe layer over NATS
// JetStream: topics and subscriptions are generic over their message type,
// delivery is at-least-once with retry, backoff and a dead-letter store.
//
// # Usage
//
//	b, err := pubsub.Open(ctx, pubsub.Config{DataDir: dir})        // or URL: "nats://..."
//	topic, err := pubsub.NewTopic[*TransitionEvent](b, "uptime-transition", pubsub.TopicConfig{})
//	_, err = pubsub.NewSubscription(topic, "slack-notification", pubsub.SubscriptionConfig[*TransitionEvent]{
//		Handler: func(ctx context.Context, ev *TransitionEvent) error { ... },
//	})
//	err = b.Start(ctx)                // creates streams and consumers, starts consuming
//	id, err := topic.Publish(ctx, ev) // JSON-encoded, deduplicated by id
//
// Declare everything, then Start, then publish: a subscription receives the
// messages published after its consumer was first created.
//
// # Engine
//
// With an empty Config.URL the broker starts an in-process nats-server with
// JetStream storing under DataDir/nats. It listens on no port; the client
// connects in-process. With a URL it connects to an external NATS (cluster),
// reconnecting forever. Every NATS name carries Config.Prefix, so several
// installations and parallel test runs can share one NATS:
//
//	topic "t" stream        <prefix>_t     subjects <prefix>.t and <prefix>.t.replay.*
//	subscription "s" on "t" durable pull consumer "s" on stream <prefix>_t
//	                        filtering <prefix>.t and <prefix>.t.replay.s
//	dead letters            KV bucket <prefix>_deadletters
//
// Streams use file storage, limits retention with the topic's MaxAge, and
// the topic's DuplicateWindow for Nats-Msg-Id deduplication: Publish uses a
// fresh UUIDv7, PublishWithID and PublishRaw the caller's id (the
// transactional outbox relay passes the outbox row id, so a relay that
// crashes after publishing and publishes again stores the message once).
//
// Streams and consumers are created with CreateOrUpdate calls, so replicas
// starting together converge on the same configuration. A consumer is
// durable, with explicit acks; every process that declares the subscription
// pulls from it, so each message is handled by one of them.
//
// # Lost broker state
//
// A NATS that restarts with an empty store (or whose streams are deleted)
// loses streams and consumers while the processes run. Whichever comes
// first re-creates them: a publish finding no stream re-creates it together
// with the consumers of the subscriptions declared in its process, before
// storing the message; a consume loop whose pull fails re-creates its
// stream and consumer. No event published after the loss may be missed, so
// the deliver policy of a consumer that does not exist is chosen by its
// stream's age: on a stream created after the broker was opened (hence
// re-created while this process runs, holding only messages published
// since) the consumer delivers everything in it; on an older stream it is a
// newly declared subscription and delivers new messages only, not the
// topic's history. An existing consumer keeps its policy and position, so
// an ordinary restart redelivers nothing. (The comparison is of the
// server's clock with this process's: a NATS whose clock is behind by more
// than the time between a process's start and a loss of state could choose
// deliver-new.)
//
// # Consuming
//
// Each subscription runs one loop that pulls as many messages as it may
// hold and runs each handler in its own goroutine. Without an ordering key
// it holds MaxConcurrency messages, each with its handler running. With an
// ordering key, messages of one key wait in that key's lane, one handler
// at a time, so the subscription holds up to 2×MaxConcurrency messages
// while at most MaxConcurrency handlers run. Every held message is kept
// alive from the moment it is fetched until it is settled: InProgress
// every third of the ack wait, whether its handler runs or it waits in a
// lane, so the server never redelivers a message a live process holds
// (which another replica would handle again). Messages not held stay in
// the stream, where no ack timer runs.
//
// One key holds at most MaxConcurrency/2 messages (at least one), so a
// flapping site with a slow notifier cannot fill the subscription: the
// others' messages are still fetched and run at once. A message fetched
// while its key holds its share is released at once (NakWithDelay, 1 s)
// and comes back behind those of its key held meanwhile; such releases are
// not counted as attempts by the process that made them. When pulling fails (NATS restarted, consumer or stream
// deleted) the loop backs off and re-creates stream and consumer, so an
// external NATS going away and coming back needs no restart. Meanwhile
// Health reports the problem and Publish fails; callers retry.
//
// The handler gets a context with the subscription's AckDeadline and the
// message's Meta (MetaFromContext). The consumer's AckWait is a little
// longer than the deadline, and the broker sends InProgress while a handler
// runs, so only a crashed process causes a redelivery.
//
// # Retries and dead letters
//
// A handler error (or panic) naks the message with a delay: MinBackoff
// doubling per attempt up to MaxBackoff, or longer if the error carries a
// RetryAfter hint. The attempt number is JetStream's delivery count. When
// the attempt reaching MaxAttempts fails, or the error is Permanent, or the
// message is not valid JSON for the type, the message is stored in the
// dead-letter bucket (keyed by topic, subscription and message id) and
// acknowledged. The package counts attempts itself (the consumer's
// MaxDeliver is unlimited) so a message is never dropped because the
// dead-letter store was briefly unavailable.
//
// The store is bounded: it keeps at most Config.DeadLetterMax entries,
// dropping the oldest when one more is stored (the package configures the
// bucket's stream itself, with discard-old, where a plain bucket would
// refuse the new entry), for at most Config.DeadLetterMaxAge.
//
// DeadLetters lists the store; Replay publishes an entry to the replay
// subject of its own subscription, so no other subscription of the topic
// sees it, with a fresh Nats-Msg-Id (deduplication would drop the original)
// and the original id in the Upmon-Msg-Id header, then removes the entry
// (and purges its delete marker, so that the bucket's message count is its
// number of entries).
// On nats-server older than 2.10, which lacks consumers with several filter
// subjects, consumers see the whole stream and skip replays addressed to
// other subscriptions.
//
// # Shutdown
//
// Close stops pulling, gives running handlers a few seconds, then cancels
// their contexts; a message interrupted by shutdown is released for
// immediate redelivery (to another replica, or after restart) without
// counting as a failure. Unacknowledged messages survive a restart of the
// embedded server, which stores them on disk.
//
// # Observability
//
// Metrics go to Config.Registerer (never the global registry):
// upmon_pubsub_published_total{topic}, upmon_pubsub_delivered_total,
// upmon_pubsub_retried_total, upmon_pubsub_deadlettered_total,
// upmon_pubsub_redelivered_total (deliveries of a message delivered before:
// retries, and ack waits that expired) and upmon_pubsub_lane_overflow_total
// {topic,subscription}, the gauge upmon_pubsub_deadletters, read from the
// bucket's stream state at scrape time (no keys are listed), and
// upmon_pubsub_deadletters_dropped_total. Logs go to Config.Logger; message bodies are never
// logged.
//
// Tests use package pubsubtest, which opens a broker on an embedded server,
// or on the external NATS named by UPMON_TEST_NATS_URL, under a unique prefix.
package pubsub
