#include "pgconn/rendered_part.h"

#include <unordered_map>
#include <utility>

namespace pgconn {
namespace {

// Where one family's text ends its "# " comment lines and starts its samples.
size_t SamplesStart(const std::string& text) {
  size_t body = 0;
  while (body < text.size() && text.compare(body, 2, "# ") == 0) {
    const size_t end = text.find('\n', body);
    body = end == std::string::npos ? text.size() : end + 1;
  }
  return body;
}

}  // namespace

std::shared_ptr<const FamilyHead> FamilyHeads::Intern(std::string name, std::string header) {
  std::string key = name + '\n' + header;
  std::lock_guard<std::mutex> lock(mutex_);
  auto& head = heads_[std::move(key)];
  if (!head)
    head = std::make_shared<const FamilyHead>(FamilyHead{std::move(name), std::move(header)});
  return head;
}

RenderedPart RenderFamilies(const Families& families, FamilyHeads* heads) {
  RenderedPart part;
  part.families.reserve(families.size());
  for (const auto& family : families) {
    const std::string text = RenderText({family});
    const size_t body = SamplesStart(text);
    std::string header = text.substr(0, body);
    RenderedPart::Family rendered;
    rendered.head =
        heads ? heads->Intern(family.name, std::move(header))
              : std::make_shared<const FamilyHead>(FamilyHead{family.name, std::move(header)});
    rendered.begin = part.samples.size();
    rendered.size = text.size() - body;
    part.samples.append(text, body, std::string::npos);
    part.families.push_back(std::move(rendered));
  }
  part.samples.shrink_to_fit();
  return part;
}

void VisitExposition(const std::vector<const RenderedPart*>& parts,
                     const std::function<void(std::string_view)>& write) {
  std::vector<const FamilyHead*> heads;  // first occurrence of each name, in order
  std::unordered_map<std::string_view, std::vector<std::string_view>> samples;
  for (const auto* part : parts) {
    for (const auto& family : part->families) {
      auto& bodies = samples[family.head->name];
      if (bodies.empty()) heads.push_back(family.head.get());
      bodies.push_back(part->Samples(family));
    }
  }
  for (const auto* head : heads) {
    write(head->header);
    for (const auto body : samples[head->name]) write(body);
  }
}

std::string StitchExposition(const std::vector<const RenderedPart*>& parts) {
  size_t size = 0;
  for (const auto* part : parts) {
    size += part->samples.size();
    for (const auto& family : part->families) size += family.head->header.size();
  }
  std::string text;
  text.reserve(size);  // an upper bound: repeated headers are written once
  VisitExposition(parts, [&text](std::string_view piece) { text.append(piece); });
  return text;
}

}  // namespace pgconn
