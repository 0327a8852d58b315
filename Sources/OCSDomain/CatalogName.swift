/// A catalog row named as people write it: `Exchange2019 CU14` (a CU's own build) or
/// `Exchange 2019 CU14 Nov26SU` (an update on that CU). Rules keep the text as written, so an
/// exported rule reads as it was imported; `BuildCatalog.entry(named:)` resolves it when needed.
public struct CatalogName: Hashable, Sendable, CustomStringConvertible {
    public let product: ExchangeProduct
    public let cumulativeUpdate: String
    public let update: String?
    /// The text as written: what the rule stores and exports.
    public let written: String

    /// Parses `PRODUCT CU [UPDATE]`, the product as `Exchange2019` or `Exchange 2019`.
    public init(parsing text: String) throws(CatalogNameError) {
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var product: ExchangeProduct?
        if words.count >= 2, let joined = ExchangeProduct.allCases.first(where: { $0.displayName == "\(words[0]) \(words[1])" }) {
            product = joined
            words.removeFirst(2)
        } else if let first = words.first, let named = ExchangeProduct(rawValue: first) {
            product = named
            words.removeFirst()
        }
        guard let product, (1...2).contains(words.count), CatalogNaming.isCumulativeUpdate(words[0]),
              words.count == 1 || CatalogNaming.isUpdate(words[1])
        else { throw CatalogNameError(input: text) }
        self.product = product
        cumulativeUpdate = words[0]
        update = words.count == 2 ? words[1] : nil
        written = text
    }

    /// A name from its parts, written canonically.
    public init(product: ExchangeProduct, cumulativeUpdate: String, update: String?) {
        self.product = product
        self.cumulativeUpdate = cumulativeUpdate
        self.update = update
        written = [product.rawValue, cumulativeUpdate, update].compactMap { $0 }.joined(separator: " ")
    }

    /// The same row in canonical spelling: `Exchange2019 CU14 Nov26SU`.
    public var canonical: String {
        [product.rawValue, cumulativeUpdate, update].compactMap { $0 }.joined(separator: " ")
    }

    public var description: String { written }

    /// Equal when they name the same row, however the product was spelt.
    public static func == (lhs: CatalogName, rhs: CatalogName) -> Bool {
        (lhs.product, lhs.cumulativeUpdate, lhs.update) == (rhs.product, rhs.cumulativeUpdate, rhs.update)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(product)
        hasher.combine(cumulativeUpdate)
        hasher.combine(update)
    }
}

/// Text that is not a catalog name; the message names the accepted forms.
public struct CatalogNameError: Error, Equatable, Sendable, CustomStringConvertible {
    public let input: String

    public var description: String {
        "invalid catalog name '\(input.prefix(80))': expected a product, a CU and optionally an update, like 'Exchange2019 CU14' or 'Exchange 2019 CU14 Nov26SU'"
    }
}

/// The forms of catalog names: CUs `RTM` or `CU1`..`CU999`; updates `Nov26SU`, `Apr24HU`, `Aug23SUv2`.
public enum CatalogNaming {
    public static func isCumulativeUpdate(_ name: String) -> Bool {
        if name == "RTM" { return true }
        let digits = name.dropFirst(2)
        return name.hasPrefix("CU") && (1...3).contains(digits.count) && digits.allSatisfy(\.isASCIIDigit) && digits.first != "0"
    }

    /// A CU's place in its product's order: 0 for `RTM`, n for `CUn`; nil for anything else.
    public static func cumulativeUpdateNumber(_ name: String) -> Int? {
        guard isCumulativeUpdate(name) else { return nil }
        return name == "RTM" ? 0 : Int(name.dropFirst(2))
    }

    public static func isUpdate(_ name: String) -> Bool {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let characters = Array(name)
        guard characters.count >= 7, months.contains(String(characters[0..<3])),
              characters[3].isASCIIDigit, characters[4].isASCIIDigit,
              ["SU", "HU"].contains(String(characters[5..<7]))
        else { return false }
        let version = characters[7...]
        return version.isEmpty
            || (version.first == "v" && (2...3).contains(version.count) && version.dropFirst().allSatisfy(\.isASCIIDigit))
    }

    /// What a well-formed name looks like, for messages.
    public static let cumulativeUpdateForm = "RTM or CU followed by a number, like CU15"
    public static let updateForm = "a month, two digits of the year and SU or HU, optionally v2, like Nov26SU or Aug23SUv2"
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// A bound of a build range: a build number, or a catalog name resolved to its build when the
/// rule is judged (so a name the catalog learns later takes effect without editing the rule).
public enum RangeBound: Hashable, Sendable, CustomStringConvertible {
    case build(ExchangeBuild)
    case name(CatalogName)

    /// A build (`15.2.1544.4`, `Version 15.2 (Build 1544.4)`) or a catalog name (`Exchange2019 CU14`).
    public init(parsing text: String) throws(RangeBoundError) {
        do {
            self = .build(try ExchangeBuild(parsing: text))
            return
        } catch let buildError {
            let trimmed = text.drop(while: { $0 == " " })
            // Text that starts like a build number gets the build's own message.
            if trimmed.first?.isASCIIDigit ?? false || trimmed.lowercased().hasPrefix("version") {
                throw RangeBoundError(description: buildError.description)
            }
        }
        do {
            self = .name(try CatalogName(parsing: text))
        } catch {
            throw RangeBoundError(description: "invalid bound '\(text.prefix(80))': expected a build like 15.2.1544.4 or a catalog name like 'Exchange2019 CU14' or 'Exchange2019 CU14 Nov26SU'")
        }
    }

    /// The build it stands for in `catalog`; nil for a name the catalog does not list.
    public func resolved(in catalog: BuildCatalog) -> ExchangeBuild? {
        switch self {
        case .build(let build): build
        case .name(let name): catalog.entry(named: name)?.build
        }
    }

    /// The bound as stored and exported: the build's dotted form, or the name as written.
    public var description: String {
        switch self {
        case .build(let build): build.description
        case .name(let name): name.written
        }
    }
}

/// A range bound that is neither a build nor a catalog name.
public struct RangeBoundError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
}
