/// Targeting that can match nothing, or never stops matching: each a warning when a rule is
/// validated, imported or stored, and a reason to refuse publishing it (`RuleStore.publish`).
extension RuleValidator {
    /// Parts of `rule`'s `applies` that cannot match any build, judged against `catalog`. Parts
    /// that `problems(in:)` already refuses (unknown names) are left to it.
    public func warnings(in rule: Mitigation) -> [RuleProblem] {
        guard let applies = rule.applies else { return [] }
        var warnings: [RuleProblem] = []
        let products = applies.products ?? ExchangeProduct.allCases
        let listed = applies.products.map { $0.map(\.rawValue).joined(separator: ", ") } ?? "every product"
        var space = products.map(BuildSpan.init(product:))
        if let cus = applies.cumulativeUpdates {
            var branches: [BuildSpan] = []
            for (index, cu) in cus.enumerated() {
                guard cu.update == nil, let entry = catalog.entry(named: cu) else { continue }
                if !products.contains(cu.product) {
                    warnings.append(RuleProblem(
                        field: "applies.cus[\(index)]",
                        message: "'\(cu.written)' is a CU of \(cu.product.rawValue), which applies.products does not list (\(listed)): it can match nothing"
                    ))
                } else {
                    branches.append(BuildSpan(branch: entry.build.branch))
                }
            }
            space = branches
        }
        switch applies.narrowing {
        case nil:
            break
        case .ranges(let ranges):
            for (index, range) in ranges.enumerated() {
                let from = range.from?.resolved(in: catalog)
                let until = range.until?.resolved(in: catalog)
                if range.from != nil && from == nil || range.until != nil && until == nil { continue }
                let span = BuildSpan(lower: from, upper: until)
                guard !space.isEmpty, !space.contains(where: { $0.overlaps(span) }) else { continue }
                let target = applies.cumulativeUpdates == nil ? listed : "the listed CUs"
                warnings.append(RuleProblem(field: "applies.ranges[\(index)]", message: "matches no build of \(target): it can match nothing"))
            }
        case .fixedBy(let name):
            let shipped = catalog.updates(named: name)
            guard !shipped.isEmpty else { break }
            if applies.products != nil, !shipped.contains(where: { products.contains($0.product) }) {
                let releasedFor = Set(shipped.map(\.product)).sorted().map(\.rawValue).joined(separator: ", ")
                warnings.append(RuleProblem(
                    field: "applies.fixedBy",
                    message: "\(name) was never released for \(listed) (only for \(releasedFor)): no listed build is ever fixed by it"
                ))
            } else if let cus = applies.cumulativeUpdates {
                let branches = cus.compactMap { catalog.entry(named: $0)?.build.branch }
                if !branches.isEmpty, !shipped.contains(where: { branches.contains($0.build.branch) }) {
                    warnings.append(RuleProblem(
                        field: "applies.fixedBy",
                        message: "\(name) was never released for \(cus.map(\.written).joined(separator: ", ")): no listed CU is ever fixed by it"
                    ))
                }
            }
        }
        return warnings
    }
}

/// A half-open span of builds `[lower, upper)`, nil bounds open: what a product, a CU branch or
/// a range can hold, so that overlap is exact whatever builds exist.
struct BuildSpan {
    let lower: ExchangeBuild?
    let upper: ExchangeBuild?

    init(lower: ExchangeBuild?, upper: ExchangeBuild?) {
        self.lower = lower
        self.upper = upper
    }

    /// Every build of a product: 2016 is `15.1`, 2019 `15.2` below build 2562, SE from it.
    init(product: ExchangeProduct) {
        let seStart = ExchangeBuild(major: 15, minor: 2, build: ExchangeProduct.firstSubscriptionEditionBuild, revision: 0)
        switch product {
        case .exchange2016:
            self.init(lower: ExchangeBuild(major: 15, minor: 1, build: 0, revision: 0), upper: ExchangeBuild(major: 15, minor: 2, build: 0, revision: 0))
        case .exchange2019:
            self.init(lower: ExchangeBuild(major: 15, minor: 2, build: 0, revision: 0), upper: seStart)
        case .exchangeSE:
            self.init(lower: seStart, upper: ExchangeBuild(major: 15, minor: 3, build: 0, revision: 0))
        }
    }

    /// Every build of a CU branch: its `major.minor.build`, any revision.
    init(branch: ExchangeBuild.Branch) {
        let upper = branch.build == .max ? nil : ExchangeBuild(major: branch.major, minor: branch.minor, build: branch.build + 1, revision: 0)
        self.init(lower: ExchangeBuild(major: branch.major, minor: branch.minor, build: branch.build, revision: 0), upper: upper)
    }

    func overlaps(_ other: BuildSpan) -> Bool {
        let lowers = [lower, other.lower].compactMap { $0 }
        let uppers = [upper, other.upper].compactMap { $0 }
        guard let highestLower = lowers.max(), let lowestUpper = uppers.min() else { return true }
        return highestLower < lowestUpper
    }
}
