package dots_test

import (
	"testing"

	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/gametest"
)

func TestExportImportRoundTrip(t *testing.T) {
	gametest.RoundTrip(t, dots.Mode,
		``, `{`, `[]`, `{"players":{}}`,
		`{"players":[{"id":0,"x":20,"y":20}]}`,
		`{"players":[{"id":2,"x":20,"y":20},{"id":1,"x":20,"y":20}]}`,
		`{"players":[{"id":1,"x":20,"y":20},{"id":1,"x":20,"y":20}]}`,
		`{"players":[{"id":1,"x":5000,"y":20}]}`,
		`{"players":[{"id":1,"x":20,"y":20,"color":16777216}]}`,
	)
}
