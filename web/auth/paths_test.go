package auth

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what the code decides")

// TestRequiredGolden: the role × path table, read from
// testdata/required.golden ("METHOD PATH ROLE", PATH as a client sends it,
// percent-encoding included). Every spelling a router cleans to an
// admin-only path needs the admin role; the Alertmanager's Connect, gRPC-Web,
// gRPC health and reflection routes and any unknown path under /api/ are
// admin-only (and not served). go test ./web/auth -run Golden -update
// rewrites the roles after a deliberate change; review the diff.
func TestRequiredGolden(t *testing.T) {
	const file = "testdata/required.golden"
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var out strings.Builder
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		require.Len(t, fields, 3, "%s:%d: want METHOD PATH ROLE", file, n)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Method = fields[0]
		require.NoError(t, setRequestURI(r, fields[1]), "%s:%d", file, n)
		got := Required(r)
		fmt.Fprintf(&out, "%-7s %-80s %s\n", fields[0], fields[1], got)
		if !*update {
			require.Equal(t, fields[2], got.String(), "%s:%d: %s %s", file, n, fields[0], fields[1])
		}
	}
	require.NoError(t, sc.Err())
	if *update {
		require.NoError(t, os.WriteFile(file, []byte(out.String()), 0o644))
	}
}

// setRequestURI sets the URL as the server parses a request line.
func setRequestURI(r *http.Request, uri string) error {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + uri + " HTTP/1.1\r\nHost: x\r\n\r\n")))
	if err != nil {
		return err
	}
	r.URL, r.RequestURI = req.URL, req.RequestURI
	return nil
}

// TestMachineWritesNotRateLimited: alerts, remote write and OTLP posted by
// an authorized sender pass however fast they come; a person's writes
// (silences, acks) from the same client keep the limit. The method goes on
// in upper case, as it was judged.
func TestMachineWritesNotRateLimited(t *testing.T) {
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  op: "+string(h)+"\n"), 0o600))
	a := New(Options{WebConfigFile: webCfg, WriteRate: 1, WriteBurst: 2, Logger: promslog.NewNopLogger()})
	a.ApplyConfig(Config{Users: map[string]Role{"op": RoleOperator}})
	var methods []string
	handler := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { methods = append(methods, r.Method) }))
	do := func(method, path string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Method = method
		r.SetBasicAuth("op", "pw")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Code
	}
	for _, p := range []string{"/api/v2/alerts", "/alertmanager/api/v2/alerts", "/api/v2/alerts/", "/api/v1/alerts", "/api/v1/write", "/api/v1/otlp/v1/metrics"} {
		for i := range 100 {
			require.Equal(t, 200, do([]string{"POST", "post"}[i%2], p), "POST %s #%d", p, i)
		}
	}
	for _, m := range methods {
		require.Equal(t, "POST", m)
	}
	codes := map[int]int{}
	for range 10 {
		codes[do("POST", "/api/v2/silences")]++
		codes[do("post", "/api/v1/appliance/acks")]++
	}
	require.Equal(t, map[int]int{200: 2, 429: 18}, codes, "people's writes keep the limit")
}

func BenchmarkDecide(b *testing.B) {
	r := httptest.NewRequest(http.MethodPost, "/api/v2/alerts", nil)
	for b.Loop() {
		Decide(r)
	}
}
