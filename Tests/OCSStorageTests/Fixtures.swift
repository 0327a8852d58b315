import OCSDomain

enum Fixtures {
    static func rule(_ id: String, _ state: RuleState, description: String = "d") -> Mitigation {
        Mitigation(id: id, description: description, state: state, actions: [.doNothing(description: nil)])
    }
}
