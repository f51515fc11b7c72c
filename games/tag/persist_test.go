package tag_test

import (
	"testing"

	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/gametest"
)

func TestExportImportRoundTrip(t *testing.T) {
	gametest.RoundTrip(t, tag.Mode,
		``, `{`, `{"players":[{"id":1,"x":20,"y":20}]}`,
		`{"players":[{"id":1,"x":20,"y":20,"it":true},{"id":2,"x":30,"y":20,"it":true}]}`,
		`{"players":[{"id":1,"x":-1,"y":20,"it":true}]}`,
		`{"players":[],"cooldown":-1}`,
		`{"players":[],"ticks":20}`,
	)
}
