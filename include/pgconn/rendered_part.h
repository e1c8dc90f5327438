// Families rendered once to text, by the thread that produced them, and stitched into one
// exposition (or a target's /probe text) from those parts without rendering again.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/render.h"

namespace pgconn {

// A family's HELP/TYPE lines, shared by every part that renders the family the same way.
struct FamilyHead {
  std::string name;
  std::string header;  // "# HELP ..." and "# TYPE ..." lines
};

// Hands out one FamilyHead per distinct header: a fleet renders the same ~60 headers for every
// target, a third of its text. Thread-safe; grows with the distinct families only.
class FamilyHeads {
 public:
  std::shared_ptr<const FamilyHead> Intern(std::string name, std::string header);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const FamilyHead>> heads_;  // by name + header
};

// A part's families as text: the samples of all of them in one string (a string per family
// cost ~50 bytes each on top, at 60,000 families), and where each family's are.
struct RenderedPart {
  struct Family {
    std::shared_ptr<const FamilyHead> head;
    size_t begin = 0;
    size_t size = 0;
  };
  std::string samples;
  std::vector<Family> families;

  std::string_view Samples(const Family& family) const {
    return std::string_view(samples).substr(family.begin, family.size);
  }
};
// `heads` shares the headers with other parts; without it each part has its own.
RenderedPart RenderFamilies(const Families& families, FamilyHeads* heads = nullptr);
// Text exposition of several parts: each family once, its samples in part order.
std::string StitchExposition(const std::vector<const RenderedPart*>& parts);
// The same text handed to `write` in pieces, in order (nothing joined).
void VisitExposition(const std::vector<const RenderedPart*>& parts,
                     const std::function<void(std::string_view)>& write);

}  // namespace pgconn
