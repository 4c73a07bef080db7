// The whole public API of bertkit.
#pragma once

#include "bertkit/config.h"
#include "bertkit/dataset.h"
#include "bertkit/error.h"
#include "bertkit/evaluate.h"
#include "bertkit/model.h"
#include "bertkit/tokenizer.h"
#include "bertkit/trainer.h"
