package slo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

func TestReportConfig(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		next    string // after Saturday 2000-01-01 00:00 UTC
	}{
		{in: `{}`, next: "2000-01-03 09:00"},
		{in: `{email_to: "SRE <sre@example.com>, boss@example.com", weekday: Friday, time: "17:30"}`, next: "2000-01-07 17:30"},
		{in: `{weekday: saturday, time: "00:00"}`, next: "2000-01-08 00:00"}, // strictly after
		{in: `{weekday: someday}`, err: `report.weekday: "someday" is not a day of the week`},
		{in: `{time: "25:00"}`, err: `report.time: "25:00" is not HH:MM`},
		{in: `{email_to: "not an address"}`, err: "report.email_to:"},
		{in: `{emailto: x@example.com}`, err: "not found"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var c ReportConfig
			err := yaml.UnmarshalStrict([]byte(tc.in), &c)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			got := c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
			require.Equal(t, tc.next, got.Format("2006-01-02 15:04"))
		})
	}
}

type sentReview struct {
	at      time.Time
	to      []string
	subject string
	body    string
}

// TestWeeklySends: the review is mailed at the configured weekday and time,
// every week, to the configured addresses; a reload moves the schedule; no
// recipients or no relay sends nothing.
func TestWeeklySends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var sent []sentReview
		w := NewWeekly(func(ctx context.Context, now time.Time) Review {
			return Review{From: now.Add(-7 * 24 * time.Hour), To: now}
		}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		w.send = func(_ context.Context, s SMTP, to []string, subject string, body []byte, now time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, "mail:25", s.Smarthost)
			sent = append(sent, sentReview{time.Now(), to, subject, string(body)})
			return nil
		}
		relay := SMTP{Smarthost: "mail:25", From: "appliance@example.com"}
		cfg := func(s string) ReportConfig {
			var c ReportConfig
			require.NoError(t, yaml.UnmarshalStrict([]byte(s), &c))
			return c
		}
		// No recipients: nothing is sent.
		w.ApplyConfig(cfg(`{weekday: monday}`), relay, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = w.Run(ctx) }()
		start := time.Now() // Saturday 2000-01-01 00:00 UTC
		time.Sleep(8 * 24 * time.Hour)
		synctest.Wait()
		require.Empty(t, sent)

		// Recipients and a relay: Monday 09:00, every week.
		w.ApplyConfig(cfg(`{email_to: "sre@example.com", weekday: monday, time: "09:00"}`), relay, nil)
		time.Sleep(15 * 24 * time.Hour) // to Monday 2000-01-24 00:00
		synctest.Wait()
		mu.Lock()
		require.Len(t, sent, 2)
		for i, s := range sent {
			require.Equal(t, time.Monday, s.at.Weekday())
			require.Equal(t, "09:00", s.at.Format("15:04"))
			require.Equal(t, []string{"sre@example.com"}, s.to)
			require.True(t, strings.HasPrefix(s.body, "# Alerting review"), s.body)
			require.Equal(t, start.Add(time.Duration(9+7*i)*24*time.Hour+9*time.Hour), s.at)
		}
		mu.Unlock()

		// A reload to Wednesday moves the next send.
		w.ApplyConfig(cfg(`{email_to: "sre@example.com", weekday: wednesday, time: "06:15"}`), relay, nil)
		time.Sleep(3 * 24 * time.Hour)
		synctest.Wait()
		mu.Lock()
		require.Len(t, sent, 3)
		require.Equal(t, "Wed 06:15", sent[2].at.Format("Mon 15:04"))
		mu.Unlock()

		// No relay (no smtp_smarthost): nothing more.
		w.ApplyConfig(cfg(`{email_to: "sre@example.com", weekday: wednesday, time: "06:15"}`), SMTP{}, nil)
		time.Sleep(14 * 24 * time.Hour)
		synctest.Wait()
		require.Len(t, sent, 3)

		// Not the first cluster peer: the scheduled mail is the first's.
		first := false
		w.SetFirst(func() bool { return first })
		w.ApplyConfig(cfg(`{email_to: "sre@example.com", weekday: wednesday, time: "06:15"}`), relay, nil)
		time.Sleep(7 * 24 * time.Hour)
		synctest.Wait()
		require.Len(t, sent, 3)
		first = true
		time.Sleep(7 * 24 * time.Hour)
		synctest.Wait()
		require.Len(t, sent, 4)

		// A relay that could not be read: the send fails with why.
		w.ApplyConfig(cfg(`{email_to: "sre@example.com"}`), SMTP{}, errors.New("read smtp_auth_password_file: no such file"))
		require.ErrorContains(t, w.Send(context.Background(), time.Now()), "no such file")
		require.Len(t, sent, 4)
		cancel()
		<-done
	})
}

// TestSendMailRequiresTLS: with smtp_require_tls (Alertmanager's default) a
// relay that offers no STARTTLS gets no message.
func TestSendMailRequiresTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		fmt.Fprint(c, "220 relay ESMTP\r\n")
		var seen []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			seen = append(seen, strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(line, "EHLO"):
				fmt.Fprint(c, "250-relay\r\n250 8BITMIME\r\n")
			case strings.HasPrefix(line, "QUIT"):
				fmt.Fprint(c, "221 bye\r\n")
			default:
				fmt.Fprint(c, "250 ok\r\n")
			}
		}
		got <- strings.Join(seen, "|")
	}()
	err = sendMail(context.Background(), SMTP{Smarthost: ln.Addr().String(), From: "a@smm.example", RequireTLS: true},
		[]string{"sre@smm.example"}, "s", []byte("b"), time.Now())
	require.ErrorContains(t, err, "does not offer STARTTLS")
	require.NotContains(t, <-got, "MAIL FROM", "nothing sent in clear text")
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1+2": "'+1+2", "@SUM(A1)": "'@SUM(A1)", "-cmd": "'-cmd",
		"-1.5": "-1.5", "ordinary": "ordinary", "": "",
	} {
		require.Equal(t, want, csvSafe(in), in)
	}
}
