package catalog

import (
	"context"
	"slices"
)

// topics adds the topics, their publishers (the outbox relays) and the
// subscriptions with their live counts.
func (b *builder) topics(ctx context.Context, src Sources) {
	publishers := map[string][]string{}
	for _, r := range src.Relays {
		for _, t := range r.Topics() {
			publishers[t] = append(publishers[t], r.Service())
			s := b.service(r.Service())
			s.Publishes = append(s.Publishes, t)
		}
	}
	subs := src.Broker.Subscriptions()
	deadByKey := map[[2]string]int{}
	dls, dlErr := src.Broker.DeadLetters(ctx)
	if dlErr != nil {
		b.fail("dead letters", dlErr)
	}
	for _, d := range dls {
		deadByKey[[2]string{d.Topic, d.Subscription}]++
	}
	for _, t := range src.Broker.Topics() {
		topic := Topic{
			Name: t.Name, MessageType: TypeName(t.MessageType), Delivery: DeliveryGuarantee,
			Outbox: len(publishers[t.Name]) > 0, Retention: Duration(t.MaxAge),
			Publishers: append([]string{}, publishers[t.Name]...), Subscriptions: []string{},
		}
		slices.Sort(topic.Publishers)
		for _, s := range subs {
			if s.Topic == t.Name {
				topic.Subscriptions = append(topic.Subscriptions, s.Name)
			}
		}
		b.c.Topics = append(b.c.Topics, topic)
	}
	for _, s := range subs {
		sub := Subscription{
			Name: s.Name, Topic: s.Topic, Service: s.Service, AckDeadline: Duration(s.AckDeadline),
			Retry: RetryPolicy{MinBackoff: Duration(s.Retry.MinBackoff), MaxBackoff: Duration(s.Retry.MaxBackoff),
				MaxAttempts: s.Retry.MaxAttempts},
		}
		if n, err := src.Broker.Pending(ctx, s.Topic, s.Name); err == nil {
			sub.Pending = &n
		} else {
			b.fail("pending of "+s.Name, err)
		}
		if dlErr == nil {
			n := deadByKey[[2]string{s.Topic, s.Name}]
			sub.DeadLetters = &n
		}
		svc := b.service(s.Service)
		svc.Subscriptions = append(svc.Subscriptions, sub)
	}
}

// jobs adds the cron jobs with their latest and next runs.
func (b *builder) jobs(ctx context.Context, src Sources) {
	for _, j := range src.Scheduler.Status(ctx, src.Replica) {
		job := Job{Name: j.Name, Title: j.Title, Service: j.Service, Every: Duration(j.Every),
			NextRun: j.NextRun, LastReplica: j.LastReplica, LastError: j.LastError}
		if !j.LastTick.IsZero() {
			t := j.LastTick.UTC()
			job.LastTick = &t
		}
		s := b.service(j.Service)
		s.Jobs = append(s.Jobs, job)
	}
}

// databases adds each service's database and its migration version.
func (b *builder) databases(ctx context.Context, src Sources) {
	for _, db := range src.Databases {
		d := Database{Service: db.Name, Engine: db.Dialect.String(), Schema: db.Schema()}
		if v, err := db.MigrationVersion(ctx); err == nil {
			d.MigrationVersion = &v
		} else {
			b.fail("migration version of "+db.Name, err)
		}
		s := b.service(db.Name)
		s.Databases = append(s.Databases, d)
	}
}

// declared adds the wiring's declarations: secrets and calls.
func (b *builder) declared(src Sources) {
	b.c.Calls = []Call{}
	if src.Registry == nil {
		return
	}
	src.Registry.mu.Lock()
	defer src.Registry.mu.Unlock()
	for _, d := range src.Registry.secrets {
		_, set := d.store.Get(d.name)
		s := b.service(d.service)
		s.Secrets = append(s.Secrets, Secret{Service: d.service, Name: d.name, Set: set})
	}
	for _, c := range src.Registry.calls {
		b.c.Calls = append(b.c.Calls, c)
		s := b.service(c.From)
		s.Calls = append(s.Calls, c)
		b.service(c.To)
	}
}
