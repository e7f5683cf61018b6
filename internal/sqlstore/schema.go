package sqlstore

import (
	"context"
	"sort"
)

// Schema lists each table's columns (sorted), as the engine reports them;
// a test compares the two engines' schemas.
func (db *DB) Schema(ctx context.Context) (map[string][]string, error) {
	q := `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	if db.engine == SQLite {
		q = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	}
	rows, err := db.read.QueryContext(ctx, q)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return nil, err
		}
		out[table] = append(out[table], col)
	}
	for _, cols := range out {
		sort.Strings(cols)
	}
	return out, rows.Err()
}
