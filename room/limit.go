package room

// maxTrackedAddrs bounds the addresses whose room creations are tracked at
// once; new addresses past it share one limit.
const maxTrackedAddrs = 1 << 16
