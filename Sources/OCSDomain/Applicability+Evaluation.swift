extension Applicability {
    /// Whether a host on `build` is exposed, so that the rule applies to it.
    ///
    /// Names (`cus`, range bounds) are resolved against `catalog`, the current one, so a row the
    /// catalog learns later takes effect without a change to the rule.
    ///
    /// `fixedBy` is judged per CU branch: a branch that received the update is exposed below the
    /// update's build; a listed branch that never received it is exposed when its CU was released
    /// before the update's month (a CU released in or after that month contains the fix); a branch
    /// the catalog does not list is fixed only when its build number is above the first CU of its
    /// product released after the update.
    public func includes(_ build: ExchangeBuild, catalog: BuildCatalog) -> Bool {
        guard let product = ExchangeProduct(build: build) else { return false }
        if let products, !products.contains(product) { return false }
        if let cumulativeUpdates, !cumulativeUpdates.contains(where: { isOnBranch(build, of: $0, catalog: catalog) }) {
            return false
        }
        switch narrowing {
        case nil:
            return true
        case .ranges(let ranges):
            return ranges.contains { $0.contains(build, catalog: catalog) }
        case .fixedBy(let updateName):
            return isExposed(build, product: product, until: updateName, catalog: catalog)
        }
    }

    /// True when `build` is on the branch of the CU `name` names; a CU the catalog does not
    /// list has no branch, so nothing is on it.
    private func isOnBranch(_ build: ExchangeBuild, of name: CatalogName, catalog: BuildCatalog) -> Bool {
        guard name.update == nil, let cu = catalog.entry(named: name) else { return false }
        return cu.build.branch == build.branch
    }

    private func isExposed(
        _ build: ExchangeBuild, product: ExchangeProduct, until updateName: String, catalog: BuildCatalog
    ) -> Bool {
        let updates = catalog.updates(named: updateName)
        if let onBranch = updates.first(where: { $0.build.branch == build.branch }) {
            return build < onBranch.build
        }
        // The update's own month: the product's release of it when there is one, else the earliest.
        let releases = updates.filter { $0.product == product }.map(\.released)
        guard let released = (releases.isEmpty ? updates.map(\.released) : releases).min() else {
            // An update the catalog does not know cannot be judged installed; validation rejects it.
            return true
        }
        if let cu = catalog.cumulativeUpdate(of: build.branch) {
            return cu.released.monthIndex < released.monthIndex
        }
        let firstLaterCU = catalog.cumulativeUpdates(of: product).first {
            $0.released.monthIndex >= released.monthIndex
        }
        guard let firstLaterCU else { return true }
        return build.build <= firstLaterCU.build.build
    }
}
