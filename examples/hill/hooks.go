package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/arena-server/arena"
)

// CheckTicket is the join hook: it asks the developer's own backend, at
// backend, who holds the join's ticket. The page gets the ticket from the
// site that sold it and joins with wss://…/ws?mode=hill&ticket=…, or the
// site sets it as the cookie "ticket", which the browser sends with the
// WebSocket's request. The backend answers GET backend/TICKET with 200 and
// {"account":"u-17","name":"ann"} for a good ticket, 404 for any other.
//
// The player plays under the backend's account and name; its ?name= is
// ignored. With no backend, everyone plays as a guest under the name it
// asked for. client is nil for http.DefaultClient.
func CheckTicket(backend string, client *http.Client) arena.JoinHook {
	if backend == "" {
		return func(context.Context, *http.Request, arena.JoinInfo) (arena.Identity, error) {
			return arena.Identity{}, nil // a guest: no account, its own ?name=
		}
	}
	client = cmp.Or(client, http.DefaultClient)
	return func(ctx context.Context, r *http.Request, join arena.JoinInfo) (arena.Identity, error) {
		ticket := r.URL.Query().Get("ticket")
		if c, err := r.Cookie("ticket"); ticket == "" && err == nil {
			ticket = c.Value
		}
		if ticket == "" {
			return arena.Identity{}, errors.New("this hill is for ticket holders: join from the site")
		}
		// ctx ends with the handshake timeout: a slow backend refuses the
		// join with "try again" rather than hold the connection.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			strings.TrimSuffix(backend, "/")+"/"+url.PathEscape(ticket), nil)
		if err != nil {
			return arena.Identity{}, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return arena.Identity{}, errors.New("tickets cannot be checked just now")
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return arena.Identity{}, errors.New("that ticket is not valid")
		}
		var holder struct{ Account, Name string }
		if err := json.NewDecoder(resp.Body).Decode(&holder); err != nil || holder.Account == "" {
			return arena.Identity{}, errors.New("tickets cannot be checked just now")
		}
		return arena.Identity{Account: holder.Account, Name: holder.Name}, nil
	}
}

// AppendResults is the result hook: it appends every finished game to
// the file at path, as one JSON object a line (arena.ResultInfo: room,
// mode, game number, result, and the players with their accounts).
//
// arena calls it on a goroutine of its own, one result at a time, never on
// a room's: it may take its time over the disk, and needs no lock. Each
// line's room, room_id and game (ResultInfo.Key) name its game: a room
// restored from a checkpoint may report a game again, so load the file
// into a table once by that key.
func AppendResults(path string) arena.ResultHook {
	return func(ctx context.Context, res arena.ResultInfo) {
		line, err := json.Marshal(res)
		if err == nil {
			err = appendLine(path, append(line, '\n'))
		}
		if err != nil {
			slog.Error("hill: cannot save a result", "file", path, "key", res.Key(), "err", err)
		}
	}
}

// appendLine writes line at the end of the file, creating it if need be.
func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
