package world_test

import (
	"testing"

	"github.com/arena-server/arena/games/world"
	"github.com/arena-server/arena/gametest"
)

func TestExportImportRoundTrip(t *testing.T) {
	gametest.RoundTrip(t, world.Mode,
		``, `{`, `[]`, `{"version":1,"size":20000,"players":{}}`,
		`{"version":2,"size":20000,"players":[]}`,
		`{"version":1,"size":5000,"players":[]}`,
		`{"version":1,"size":20000,"players":[{"id":0,"x":20,"y":20,"cell":0}]}`,
		`{"version":1,"size":20000,"players":[{"id":2,"x":20,"y":20,"cell":0},{"id":1,"x":20,"y":20,"cell":0}]}`,
		`{"version":1,"size":20000,"players":[{"id":1,"x":20000,"y":20,"cell":28}]}`,
		`{"version":1,"size":20000,"players":[{"id":1,"x":20,"y":20,"color":16777216,"cell":0}]}`,
		`{"version":1,"size":20000,"players":[{"id":1,"x":20,"y":20,"cell":1}]}`,
		`{"version":1,"size":20000,"players":[{"id":1,"x":20,"y":20,"cell":-1}]}`,
		`{"version":1,"size":20000,"players":[{"id":1,"x":20,"y":20,"cell":841}]}`,
	)
}
