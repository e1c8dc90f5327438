// Pure mapping of the fault-detection fields of a target's status: the accept probe and our
// login role's check.
#pragma once

#include "pgconn/family_builder.h"
#include "pgconn/render.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

void AddFaultFamilies(Families& out, const Labels& base, const TargetStatus& status);

}  // namespace pgconn
