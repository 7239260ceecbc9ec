package simtest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind is what an operation does.
type Kind uint8

// Operation kinds. An operation's kind is fixed when it is generated; the choices it
// makes against the state it meets (which job, which offer, which field values) are
// drawn from a source seeded by its Arg, so a recorded list of operations replays
// exactly, and a shortened one still runs (its choices then land on what exists).
const (
	KindMoveTime             Kind = iota // Advance: onto, just before or after a deadline; seconds; hours
	KindAtExpiry                         // accept or decline an offer at its ExpiresAt before Advance fires it
	KindCreateJob                        // valid or not; IDs new, generated, taken
	KindUpdateJob                        // every writable field, matching modes, invalid values
	KindAccept                           // an open offer, another worker's, a closed one, none
	KindDecline                          // RetryOfferAt absent, past, now, soon, far future
	KindComplete                         // the current assignment, an old one, none
	KindClose                            // CloseAt absent, past, now, future
	KindCancel                           // any job
	KindUnassign                         // with and without suspend
	KindDeleteJob                        // terminal or not
	KindAddWorker                        // a valid worker (setup, or something to offer to)
	KindUpsertWorker                     // change one thing, deregister, re-register, invalid
	KindDeleteWorker                     // holding or not
	KindAddQueue                         // a valid queue (setup)
	KindUpsertQueue                      // valid or not
	KindDeleteQueue                      // in use or not
	KindAddPolicy                        // a valid distribution policy (setup)
	KindUpsertPolicy                     // modes, offer counts, scoring functions, invalid
	KindDeletePolicy                     // in use or not
	KindRead                             // gets and filtered, paged lists
	KindUpsertClassification             // policy worlds: attachments, rules that fail or panic
	KindDeleteClassification             // policy worlds
	KindUpsertException                  // policy worlds: queue-length and wait-time rules
	KindDeleteException                  // policy worlds
	KindReclassify                       // policy worlds
	KindQueueStats                       // queue statistics and positions
	numKinds
)

var kindNames = [...]string{
	KindMoveTime: "MoveTime", KindAtExpiry: "AtExpiry", KindCreateJob: "CreateJob", KindUpdateJob: "UpdateJob",
	KindAccept: "Accept", KindDecline: "Decline", KindComplete: "Complete", KindClose: "Close", KindCancel: "Cancel",
	KindUnassign: "Unassign", KindDeleteJob: "DeleteJob", KindAddWorker: "AddWorker", KindUpsertWorker: "UpsertWorker",
	KindDeleteWorker: "DeleteWorker", KindAddQueue: "AddQueue", KindUpsertQueue: "UpsertQueue", KindDeleteQueue: "DeleteQueue",
	KindAddPolicy: "AddPolicy", KindUpsertPolicy: "UpsertPolicy", KindDeletePolicy: "DeletePolicy", KindRead: "Read",
	KindUpsertClassification: "UpsertClassification", KindDeleteClassification: "DeleteClassification",
	KindUpsertException: "UpsertException", KindDeleteException: "DeleteException", KindReclassify: "Reclassify",
	KindQueueStats: "QueueStats",
}

// kindExec marks an operation made by the caller (Sim.Exec): it is not replayable.
const kindExec = numKinds

func (k Kind) String() string {
	if k == kindExec {
		return "Exec"
	}
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// policyOnly reports whether a kind needs a policy world (classification and
// exception policies, which the naive oracle does not model).
func (k Kind) policyOnly() bool {
	switch k {
	case KindUpsertClassification, KindDeleteClassification, KindUpsertException, KindDeleteException, KindReclassify:
		return true
	}
	return false
}

// Op is one simulated operation.
type Op struct {
	Kind Kind
	Arg  uint32 // seeds the choices the operation makes
}

func (o Op) String() string { return fmt.Sprintf("%v/%d", o.Kind, o.Arg) }

// rng returns the operation's own source of choices.
func (o Op) rng() *rand.Rand {
	return rand.New(rand.NewPCG(uint64(o.Arg), 0x51a7e57<<8|uint64(o.Kind)))
}

// opBytes is the size of one encoded operation: a kind byte and a two-byte argument.
const opBytes = 3

// Decode turns arbitrary bytes into a world and operations: the fuzzers' decoder.
// The first byte chooses the world (see worldFromByte); then every three bytes are
// one operation (the kind byte modulo the number of kinds, a little-endian 16-bit
// argument); a short tail is ignored. Any input decodes: there is no invalid one.
// Policy-only kinds in a world without policies decode as reads. Before the decoded
// operations the world gets a standard setup (policies, queues, workers), unless
// bit 7 of the first byte is set.
func Decode(data []byte) (World, []Op) {
	if len(data) == 0 {
		return worldFromByte(0), standardSetup()
	}
	w := worldFromByte(data[0])
	var ops []Op
	if data[0]&0x80 == 0 {
		ops = standardSetup()
	}
	for rest := data[1:]; len(rest) >= opBytes; rest = rest[opBytes:] {
		op := Op{Kind: Kind(rest[0] % byte(numKinds)), Arg: uint32(binary.LittleEndian.Uint16(rest[1:3]))}
		if op.Kind.policyOnly() && !w.Policies {
			op.Kind = KindRead
		}
		ops = append(ops, op)
	}
	return w, ops
}

// Encode is the inverse of Decode for the operations after the setup (whose
// arguments fit in 16 bits): it gives the bytes a fuzz corpus entry holds.
func Encode(w World, ops []Op, withSetup bool) []byte {
	b := worldByte(w)
	if !withSetup {
		b |= 0x80
	}
	out := []byte{b}
	for _, op := range ops {
		out = append(out, byte(op.Kind), byte(op.Arg), byte(op.Arg>>8))
	}
	return out
}

// standardSetup is the world every decoded input starts from: the three
// distribution policies, three queues and four workers.
func standardSetup() []Op {
	return []Op{
		{KindAddPolicy, 0}, {KindAddPolicy, 1}, {KindAddPolicy, 2},
		{KindAddQueue, 0}, {KindAddQueue, 1}, {KindAddQueue, 2},
		{KindAddWorker, 0}, {KindAddWorker, 1}, {KindAddWorker, 2}, {KindAddWorker, 3},
	}
}

// FormatOps formats operations as Go source, for a regression test.
func FormatOps(ops []Op) string {
	var b strings.Builder
	for i, op := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{simtest.Kind%v, %d}", op.Kind, op.Arg)
	}
	return b.String()
}
