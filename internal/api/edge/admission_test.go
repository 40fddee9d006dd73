package edge

import (
	"context"
	"testing"
	"time"
)

func testAdmission(t *testing.T, conc, queue int, wait time.Duration) *admission {
	t.Helper()
	return newAdmission(AdmissionConfig{Concurrency: conc, Queue: queue, MaxWait: wait}, nil)
}

// acquireAsync starts an acquire and returns where its outcome arrives.
func acquireAsync(a *admission, key string) <-chan func() {
	out := make(chan func(), 1)
	go func() {
		rel, ref := a.acquire(context.Background(), key)
		if ref != nil {
			out <- nil
			return
		}
		out <- rel
	}()
	return out
}

func waitQueued(t *testing.T, a *admission, n int) {
	t.Helper()
	for range 500 {
		a.mu.Lock()
		q := a.queued
		a.mu.Unlock()
		if q == n {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("queue never reached %d", n)
}

func TestAdmissionQueuesThenAdmits(t *testing.T) {
	a := testAdmission(t, 1, 4, 10*time.Second)
	rel, ref := a.acquire(context.Background(), "int_a")
	if ref != nil {
		t.Fatalf("first request refused: %+v", ref)
	}
	second := acquireAsync(a, "int_b")
	waitQueued(t, a, 1)
	rel()
	if r := <-second; r == nil {
		t.Fatal("the queued request was refused when a slot freed")
	} else {
		r()
	}
}

// A freed slot goes to the integration with fewer requests running, even
// when the busier one has waited longer.
func TestAdmissionIsFairBetweenIntegrations(t *testing.T) {
	a := testAdmission(t, 2, 8, 10*time.Second)
	r1, _ := a.acquire(context.Background(), "int_heavy")
	r2, _ := a.acquire(context.Background(), "int_heavy")
	heavy := acquireAsync(a, "int_heavy")
	waitQueued(t, a, 1)
	light := acquireAsync(a, "int_light")
	waitQueued(t, a, 2)
	r1()
	select {
	case r := <-light:
		if r == nil {
			t.Fatal("the light integration was refused")
		}
		r()
	case <-heavy:
		t.Fatal("the heavy integration got the slot before the light one")
	case <-time.After(5 * time.Second):
		t.Fatal("no one was admitted")
	}
	r2()
	if r := <-heavy; r == nil {
		t.Fatal("the heavy integration's waiter was refused")
	} else {
		r()
	}
}

func TestAdmissionRefusals(t *testing.T) {
	a := testAdmission(t, 1, 4, 10*time.Second)
	rel, _ := a.acquire(context.Background(), "int_a")
	defer rel()
	q1, q2 := acquireAsync(a, "int_a"), acquireAsync(a, "int_a")
	waitQueued(t, a, 2)
	// An integration may hold at most half the queue.
	if _, ref := a.acquire(context.Background(), "int_a"); ref == nil || ref.reason != "tenant_share" {
		t.Fatalf("third waiter of one integration: %+v", ref)
	}
	// Others still get in, up to the queue's size.
	b1, b2 := acquireAsync(a, "int_b"), acquireAsync(a, "int_c")
	waitQueued(t, a, 4)
	if _, ref := a.acquire(context.Background(), "int_d"); ref == nil || ref.reason != "queue_full" || ref.retryAfter <= 0 {
		t.Fatalf("past the queue: %+v", ref)
	}
	for _, c := range []<-chan func(){q1, q2, b1, b2} {
		go func() {
			if r := <-c; r != nil {
				r()
			}
		}()
	}
}

func TestAdmissionDeadlineAndEstimate(t *testing.T) {
	a := testAdmission(t, 1, 4, 30*time.Millisecond)
	a.service = 0.001 // requests look quick, so the second one waits…
	rel, _ := a.acquire(context.Background(), "int_a")
	if _, ref := a.acquire(context.Background(), "int_b"); ref == nil || ref.reason != "deadline" { // …and gives up
		t.Fatalf("a wait past MaxWait: %+v", ref)
	}
	a.mu.Lock()
	a.service = 5 // seconds per request: any wait would exceed 30 ms
	a.mu.Unlock()
	if _, ref := a.acquire(context.Background(), "int_b"); ref == nil || ref.reason != "wait_estimate" || ref.retryAfter < time.Second {
		t.Fatalf("expected wait past MaxWait: %+v", ref)
	}
	rel()
	if r, ref := a.acquire(context.Background(), "int_b"); ref != nil {
		t.Fatalf("idle server refused: %+v", ref)
	} else {
		r()
	}
}
