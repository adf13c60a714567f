package web

// fdReserve is how many file descriptors are kept for everything but the
// public connections: TSDB blocks and WAL segments, snapshots, the
// Alertmanager's files, outgoing scrapes and notifications.
const fdReserve = 512

// minConns is the smallest cap fitConnections lowers to: health checks and
// an operator must still get in.
const minConns = 16

// fitConnections is the connection cap that leaves fdReserve descriptors
// (and the self-scrape listener's) out of limit; ok is false when it had to
// lower maxConns.
func fitConnections(maxConns int, limit uint64) (int, bool) {
	need := uint64(maxConns) + fdReserve + selfMaxConns
	if need <= limit {
		return maxConns, true
	}
	avail := int64(limit) - fdReserve - selfMaxConns
	return int(max(avail, minConns)), false
}
