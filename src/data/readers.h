// One reader per file format. Each parses rows from a (possibly gzip-compressed) stream and hands
// them to a RowBuilder, which turns them into a Dataset; errors name the file and line.
#pragma once

#include "bertkit/dataset.h"
#include "data/gz_reader.h"
#include "data/row_builder.h"

namespace bertkit::data {

// JSON Lines: one JSON object per line (blank lines skipped). A file whose first non-blank
// character is '[' is read as one JSON array of row objects instead (`load_dataset("json")`
// takes both); its rows are then numbered instead of lines.
void read_json_lines(GzReader& in, const ReadOptions& options, RowBuilder& rows);

// CSV (delimiter ',') and TSV ('\t'): RFC 4180 -- a header row, fields optionally in double
// quotes, "" for a quote inside quotes, quoted fields may hold delimiters and newlines, "\n" or
// "\r\n" ends a record. Blank lines are skipped; a stray quote inside an unquoted field is kept
// as text (as Python's csv module and pandas do).
void read_delimited(GzReader& in, char delimiter, const ReadOptions& options, RowBuilder& rows);

}  // namespace bertkit::data
