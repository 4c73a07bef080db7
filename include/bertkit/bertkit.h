// The whole public API of bertkit.
#pragma once

#include "bertkit/error.h"
#include "bertkit/tokenizer.h"
